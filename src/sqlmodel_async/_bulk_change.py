"""`update_many`, `upsert_many` and `delete_many`: rows changed (or removed) by key,
chunk by chunk.

Rows that update or upsert existing ones (and keys to delete) are sent sorted by their key
within each chunk where rows are locked one by one (`Backend.bulk_lock_order`): two calls
writing the same keys in opposite orders then lock them in the same order and one waits
for the other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ._bulk_groups import Group
from ._bulk_writer import VALUES_ROWS, ModelT, WriterBase
from .bulk_sql import StatementBuilder

#: Key types `PrimaryKey.values` reshapes (a tuple, list or mapping per key).
_SHAPED = frozenset({tuple, list, dict})


class ChangeMethods(WriterBase[ModelT]):
    # --- update -------------------------------------------------------------------------

    async def _update_many(self, numbered: Iterator[tuple[int, list[Any]]]) -> int:
        updated = 0
        for start, chunk in numbered:
            prepared = self.plan.update_rows(chunk, start)
            groups = self.plan.key_groups(prepared, last_wins=self.plan.pk)
            groups = self._in_lock_order(prepared, groups, self.plan.pk)
            checked = self._checked(prepared, groups, start)
            connection, sql = await self._open()
            for _, keys, columns in checked:
                updated += await self._update(connection, sql, keys, columns)
            await self._sync_versions(self._sync_session(prepared, self.plan.pk))
        return updated

    async def _update(
        self, connection: AsyncConnection, sql: StatementBuilder, keys: tuple[str, ...],
        columns: list[list[Any]],
    ) -> int:
        if len(keys) == len(self.plan.pk):
            # Nothing but the key: count the rows that exist, change nothing.
            return await self._count_existing(connection, columns)
        if self.backend.bulk_arrays:
            result = await self._run(connection, sql.update_arrays(keys), sql.arrays(keys, columns))
            return int(result.rowcount)
        total = 0
        tuples = sql.tuples(keys, columns)
        step = max(1, min(VALUES_ROWS, sql.max_params // len(keys)))
        for offset in range(0, len(tuples), step):
            part = tuples[offset : offset + step]
            params = tuple(value for row in part for value in row)
            result = await self._run_driver(connection, sql.update_values(keys, len(part)), params)
            total += int(result.rowcount)
        return total

    async def _count_existing(self, connection: AsyncConnection, columns: list[list[Any]]) -> int:
        keys = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        found = 0
        for clause in self._membership(keys):
            statement = sa.select(sa.func.count()).select_from(self.plan.table).where(clause)
            found += int((await self._run(connection, statement)).scalar_one())
        return found

    # --- upsert -------------------------------------------------------------------------

    async def _upsert_many(
        self, numbered: Iterator[tuple[int, list[Any]]], conflict: Sequence[Any] | None,
        update: Sequence[Any] | None,
    ) -> int:
        # No conflict= given: rows are matched on the primary key, so they must carry it.
        by_key = conflict is None
        target = self.plan.pk if conflict is None else self.plan.conflict_target(conflict)
        chosen = None if update is None else self.plan.keys_of(update, "update")
        written = 0
        for start, chunk in numbered:
            prepared = self.plan.insert_rows(chunk, start, shared=True)
            if by_key:
                self.plan.require_keys(prepared, start, target, "upsert_many without conflict=")
            given = self.plan.given_keys(chunk, start)
            groups = self.plan.insert_groups(prepared, last_wins=target, extra=given)
            groups = self._in_lock_order(prepared, groups, target)
            checked = self._checked(prepared, groups, start)
            connection, sql = await self._open()
            for positions, keys, columns in checked:
                sets = self.plan.upsert_sets(keys, target, chosen, given[positions[0]])
                if self.backend.bulk_arrays:
                    statement = sql.upsert_arrays(keys, target, sets)
                    await self._run(connection, statement, sql.arrays(keys, columns))
                else:
                    statement_text = sql.upsert_one(keys, target, sets)
                    await self._run_driver(connection, statement_text, sql.tuples(keys, columns))
                written += len(positions)
            await self._sync_versions(self._sync_session(prepared, target))
        return written

    # --- delete -------------------------------------------------------------------------

    async def _delete_many(self, chunks: Iterator[list[Any]]) -> int:
        deleted = 0
        for chunk in chunks:
            keys: list[Any] = list(dict.fromkeys(self._key_values(chunk)))
            if self.backend.bulk_lock_order:
                keys = [keys[i] for i in _sorted_positions(keys)]
            connection, _ = await self._open()
            for clause in self._membership(keys):
                result = await self._run(connection, sa.delete(self.plan.table).where(clause))
                deleted += int(result.rowcount)
            self._forget(keys)
        return deleted

    def _key_values(self, chunk: list[Any]) -> list[Any]:
        """Keys as values (one-column key) or tuples in key order (composite key), each
        checked for its shape (`PrimaryKey.values`)."""
        key = self.key
        if (
            not key.composite
            and not _SHAPED.intersection(map(type, chunk))  # one C loop
            and not any(isinstance(value, Mapping) for value in chunk)
        ):
            return chunk  # plain values (the usual case): nothing to reshape
        if key.composite:
            return [key.values(value) for value in chunk]
        return [key.values(value)[0] for value in chunk]

    # --- lock order ---------------------------------------------------------------------

    def _in_lock_order(
        self, rows: list[dict[str, Any]], groups: list[Group], key: Sequence[str]
    ) -> list[Group]:
        """Each group's rows sorted by `key`, and the groups by their first row's key, so
        that the same rows given in any order lock the same rows in the same order."""
        if not self.backend.bulk_lock_order:
            return groups
        ordered = []
        for positions, keys in groups:
            if len(key) == 1:
                name = key[0]
                values: list[Any] = [rows[i][name] for i in positions]
            else:
                values = [tuple(rows[i][name] for name in key) for i in positions]
            order = _sorted_positions(values)
            ordered.append(([positions[i] for i in order], keys, values[order[0]]))
        if len(ordered) > 1:
            firsts = _sorted_positions([first for _, _, first in ordered])
            ordered = [ordered[i] for i in firsts]
        return [(positions, keys) for positions, keys, _ in ordered]


def _sorted_positions(values: list[Any]) -> list[int]:
    """Positions of `values` in ascending order; None sorts last, and values that do not
    compare (mixed types) keep their order."""
    try:
        return sorted(range(len(values)), key=values.__getitem__)
    except TypeError:
        pass
    try:
        return sorted(range(len(values)), key=lambda i: _none_last(values[i]))
    except TypeError:
        return list(range(len(values)))


def _none_last(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple((part is None, part) for part in value)
    return (value is None, value)
