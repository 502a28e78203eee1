"""`create_many`: rows inserted chunk by chunk, by the backend's fastest way in (COPY,
one array per column, executemany), and, with `returning=True`, the instances with the
keys the database handed out, in input order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ._bulk_input import ColumnChunk
from ._bulk_writer import VALUES_ROWS, ModelT, WriterBase
from .bulk_sql import StatementBuilder


class InsertMethods(WriterBase[ModelT]):
    async def _create_many(
        self, numbered: Iterator[tuple[int, list[Any]]], returning: bool
    ) -> list[ModelT] | int:
        created: list[ModelT] = []
        count = 0
        for start, chunk in numbered:
            fast = self.plan.insert_columns(chunk, start)
            if fast is not None:  # uniform dicts: checked columns with no dict per row
                connection, sql = await self._open()
                created.extend(await self._insert_columns(connection, sql, fast, returning))
            else:
                created.extend(await self._insert_rows(chunk, start, returning))
            count += len(chunk)
        return created if returning else count

    async def _insert_rows(self, chunk: list[Any], start: int, returning: bool) -> list[ModelT]:
        """Insert a chunk row by row made into dicts (any kind of row), one statement per
        group of rows that give the same columns; with `returning`, their instances."""
        prepared = self.plan.insert_rows(chunk, start, shared=not returning)
        groups = self._checked(prepared, self.plan.insert_groups(prepared), start)
        connection, sql = await self._open()
        auto = self.plan.autoincrement
        for positions, keys, columns in groups:
            if not returning or auto is None or auto in keys:
                # Nothing to ask the database for: the keys are given (or not wanted).
                await self._insert(connection, sql, keys, columns)
            else:
                ids = await self._insert_returning(connection, sql, keys, columns, len(positions))
                for position, key in zip(positions, ids, strict=True):
                    prepared[position][auto] = key
            if returning:  # the instances get the checked (coerced) values
                for key, values in zip(keys, columns, strict=True):
                    for position, value in zip(positions, values, strict=True):
                        prepared[position][key] = value
        return self._instances(chunk, prepared) if returning else []

    async def _insert_columns(
        self, connection: AsyncConnection, sql: StatementBuilder, chunk: ColumnChunk,
        returning: bool,
    ) -> list[ModelT]:
        """Insert a chunk of uniform dicts; with `returning`, their new instances: built
        from the checked columns and the keys handed out, as `_instances` builds them
        from row dicts (same fields, same values, same order)."""
        auto = self.plan.autoincrement
        given = dict(zip(chunk.keys, chunk.columns, strict=True))
        if returning and auto is not None and auto not in given:
            given[auto] = await self._insert_returning(
                connection, sql, chunk.keys, chunk.columns, chunk.rows
            )
        else:  # nothing to ask the database for: the keys are given (or not wanted)
            await self._insert(connection, sql, chunk.keys, chunk.columns)
        if not returning:
            return []
        # Columns left out of the INSERT (every row None there) stay None, as in a row dict.
        nones = [None] * chunk.rows
        columns = [given.get(key, nones) for key in chunk.order]
        instances: list[ModelT] = self.plan.instances(chunk.order, columns)
        return instances

    async def _insert(
        self, connection: AsyncConnection, sql: StatementBuilder, keys: tuple[str, ...],
        columns: list[list[Any]],
    ) -> None:
        if self.backend.bulk_arrays:
            if self.copy.copies(connection, keys, len(columns[0]) if columns else 0):
                await self.copy.start(connection, keys, sql.records(keys, columns))
            else:
                await self._run_driver(
                    connection, sql.insert_arrays_text(keys), sql.processed(keys, columns)
                )
            return
        await self._run_driver(connection, sql.insert_one(keys), sql.tuples(keys, columns))

    async def _insert_returning(
        self, connection: AsyncConnection, sql: StatementBuilder, keys: tuple[str, ...],
        columns: list[list[Any]], rows: int,
    ) -> list[Any]:
        """Insert the rows and return the auto-increment keys handed out, in input order."""
        auto = self.plan.autoincrement
        assert auto is not None
        if self.copy.copies(connection, (auto, *keys), rows):
            copied = await self.copy.insert_returning(connection, sql, auto, keys, columns, rows)
            if copied is not None:
                return copied
        if self.backend.bulk_arrays:
            result = await self._run_driver(
                connection, sql.insert_arrays_text(keys, returning=True),
                sql.processed(keys, columns),
            )
            ids = [row[0] for row in result]
        else:
            ids = await self._insert_values_returning(connection, sql, keys, columns)
        # Auto-increment keys are handed out in the order the rows are inserted (the
        # statement inserts them in input order); RETURNING itself promises no order, so
        # the keys are sorted back into it. SQLAlchemy's insertmanyvalues relies on the same.
        ids.sort()
        if len(ids) != rows:
            raise RuntimeError(f"expected {rows} keys back, got {len(ids)}")
        return ids

    async def _insert_values_returning(
        self, connection: AsyncConnection, sql: StatementBuilder, keys: tuple[str, ...],
        columns: list[list[Any]],
    ) -> list[Any]:
        """Multi-row VALUES ... RETURNING statements, cut under the parameter limit."""
        ids: list[Any] = []
        step = max(1, min(VALUES_ROWS, sql.max_params // max(1, len(keys))))
        tuples = sql.tuples(keys, columns)
        for offset in range(0, len(tuples), step):
            part = tuples[offset : offset + step]
            statement = sql.insert_values_returning(keys, len(part))
            params = tuple(value for row in part for value in row)
            result = await self._run_driver(connection, statement, params)
            ids.extend(row[0] for row in result)
        return ids

    def _instances(self, chunk: list[Any], prepared: list[dict[str, Any]]) -> list[ModelT]:
        """The caller's instances with their keys (and checked values) set, or new ones
        for mappings. They are not added to the session: attaching thousands of objects
        would cost more than the insert (`session.merge()` one to change it later)."""
        model = self.model
        given = [type(row) is not dict and isinstance(row, model) for row in chunk]
        made = iter(self.plan.instances_from(
            [values for values, mine in zip(prepared, given, strict=True) if not mine]
        ))
        out: list[ModelT] = []
        for row, values, mine in zip(chunk, prepared, given, strict=True):
            if mine:
                row.__dict__.update(values)
                out.append(row)
            else:
                out.append(next(made))
        return out
