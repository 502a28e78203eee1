"""Bulk writes: many rows per statement, inside the caller's transaction.

`BulkWriter` backs `Repository.create_many / update_many / upsert_many / delete_many`.
Every statement runs on the session's own connection and nothing commits here. Each call
is all or nothing (`_bulk_scope.BulkScope`): a refusal in any chunk undoes the whole call,
raises the translated error and leaves the caller's transaction and earlier work as they
were, on every backend.

Rows that update or upsert existing ones (and keys to delete) are sent sorted by their key
within each chunk where rows are locked one by one (`Backend.bulk_lock_order`): two calls
writing the same keys in opposite orders then lock them in the same order and one waits
for the other instead of deadlocking.

Why it is fast (measured in benchmarks/bulk.py):
- rows are checked column by column (one pydantic call per column and chunk, not one
  model instance per row) and sent as positional tuples, so the Python work per row is
  a dict merge and a tuple;
- PostgreSQL sends one array per column (`unnest`), or COPY when nothing is returned:
  the statement never grows with the rows, so there is no parameter limit to chunk for;
- SQLite and MariaDB get one compiled statement per chunk and the driver's executemany
  (SQLite steps one prepared statement in C; asyncmy rewrites an INSERT into multi-row
  VALUES), or one multi-row VALUES statement when keys must come back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from ._bulk_scope import BulkScope
from ._keys import PrimaryKey
from .bulk_rows import BulkInputError, ColumnChunk, TablePlan, plan_for
from .bulk_sql import StatementBuilder
from .dialects import Backend
from .errors import DatabaseError, ForeignKeyError, translate

ModelT = TypeVar("ModelT", bound=SQLModel)
T = TypeVar("T")

#: Rows taken from the input at a time: bounds memory for generators of any length and
#: amortises a round trip over many rows (COPY, arrays and executemany have no
#: per-statement parameter limit; multi-row VALUES chunks are cut smaller below).
CHUNK_ROWS = 20_000
#: Most rows in one multi-row VALUES statement (keeps statements and their compile small).
VALUES_ROWS = 4_000
#: Fewest rows sent by COPY (PostgreSQL). Below it one INSERT ... SELECT FROM unnest costs
#: fewer round trips: COPY needs the transaction begun first, a CopyIn exchange, and, to
#: return keys, a statement that takes them from the sequence.
COPY_MIN_ROWS = 1_000


def chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of at most `size` items, read lazily from `rows`."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class BulkWriter(Generic[ModelT]):
    """The bulk operations of one model on one session (see Repository for the API)."""

    def __init__(
        self, model: type[ModelT], session: AsyncSession, backend: Backend,
        key: PrimaryKey | None = None,
    ) -> None:
        self.model = model
        self.session = session
        self.backend = backend
        self.plan: TablePlan = plan_for(model)
        self.key = key if key is not None else PrimaryKey(model)
        self.scope = BulkScope(session)
        self._sql: StatementBuilder | None = None
        #: The COPY in flight (PostgreSQL), and whether the transaction has begun for it.
        self._pending: asyncio.Future[None] | None = None
        self._begun = False

    async def _atomic(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one bulk call: all of it is kept, or none of it (see _bulk_scope)."""
        try:
            result = await work()
            await self._copy_done()
        except BaseException as error:
            pending, self._pending = self._pending, None
            if pending is not None:  # the connection is free again before the rollback
                with contextlib.suppress(BaseException):
                    await pending
            await self.scope.rollback(error)
            raise
        await self.scope.commit()
        return result

    # --- create ---------------------------------------------------------------------

    async def create_many(self, rows: Iterable[Any], *, returning: bool) -> list[ModelT] | int:
        return await self._atomic(lambda: self._create_many(rows, returning))

    async def _create_many(self, rows: Iterable[Any], returning: bool) -> list[ModelT] | int:
        created: list[ModelT] = []
        count = 0
        for start, chunk in self._numbered_chunks(rows):
            fast = self.plan.insert_columns(chunk, start)
            if fast is not None:  # uniform dicts: checked columns with no dict per row
                connection, sql = await self._open()
                created.extend(await self._insert_columns(connection, sql, fast, returning))
                count += len(chunk)
                continue
            prepared = self.plan.insert_rows(chunk, start, shared=not returning)
            groups = self._checked(prepared, self.plan.insert_groups(prepared), start)
            connection, sql = await self._open()
            for positions, keys, columns in groups:
                auto = self.plan.autoincrement
                if not returning or auto is None or auto in keys:
                    # Nothing to ask the database for: the keys are given (or not wanted).
                    await self._insert(connection, sql, keys, columns)
                else:
                    ids = await self._insert_returning(
                        connection, sql, keys, columns, len(positions)
                    )
                    for position, key in zip(positions, ids, strict=True):
                        prepared[position][auto] = key
                if returning:  # the instances get the checked (coerced) values
                    for key, values in zip(keys, columns, strict=True):
                        for position, value in zip(positions, values, strict=True):
                            prepared[position][key] = value
            count += len(chunk)
            if returning:
                created.extend(self._instances(chunk, prepared))
        return created if returning else count

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
            if self._copies(connection, keys, len(columns[0]) if columns else 0):
                await self._copy(connection, keys, sql.records(keys, columns))
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
        auto = self.plan.autoincrement
        assert auto is not None
        if self._copies(connection, (auto, *keys), rows):
            sequence = await self._sequence(connection, auto)
            if sequence is not None:
                # Take the keys from the sequence first (one round trip), then COPY the
                # rows with them: as fast as COPY, and each key is known to be its row's.
                take = sa.select(sa.func.array_agg(sa.func.nextval(sequence))).select_from(
                    sa.func.generate_series(1, rows)
                )
                ids = list((await self._run(connection, take)).scalar_one())
                full = (auto, *keys)
                await self._copy(connection, full, sql.records(full, [ids, *columns]))
                return ids
        ids = []
        if self.backend.bulk_arrays:
            result = await self._run_driver(
                connection, sql.insert_arrays_text(keys, returning=True),
                sql.processed(keys, columns),
            )
            ids = [row[0] for row in result]
        else:
            step = max(1, min(VALUES_ROWS, sql.max_params // max(1, len(keys))))
            tuples = sql.tuples(keys, columns)
            for offset in range(0, len(tuples), step):
                part = tuples[offset : offset + step]
                statement = sql.insert_values_returning(keys, len(part))
                params = tuple(value for row in part for value in row)
                result = await self._run_driver(connection, statement, params)
                ids.extend(row[0] for row in result)
        # Auto-increment keys are handed out in the order the rows are inserted (the
        # statement inserts them in input order); RETURNING itself promises no order, so
        # the keys are sorted back into it. SQLAlchemy's insertmanyvalues relies on the same.
        ids.sort()
        if len(ids) != rows:
            raise RuntimeError(f"expected {rows} keys back, got {len(ids)}")
        return ids

    def _copies(self, connection: AsyncConnection, keys: tuple[str, ...], rows: int) -> bool:
        """Whether these rows go by COPY (PostgreSQL, enough rows, types COPY encodes)."""
        return (
            self.backend.bulk_copy and rows >= COPY_MIN_ROWS
            and self.plan.copy_safe(connection.dialect, keys)
        )

    async def _sequence(self, connection: AsyncConnection, key: str) -> str | None:
        """The sequence behind an auto-increment key (SERIAL or identity BY DEFAULT)."""
        cache_key = ("sequence", key)
        if cache_key not in self.plan.cache:
            column = self.plan.column(key)
            sequence = None
            if column.identity is None or not column.identity.always:
                table = connection.dialect.identifier_preparer.format_table(self.plan.table)
                found = sa.select(sa.func.pg_get_serial_sequence(table, column.name))
                sequence = (await self._run(connection, found)).scalar()
            self.plan.cache[cache_key] = sequence
        return self.plan.cache[cache_key]  # type: ignore[no-any-return]

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

    async def _copy(
        self, connection: AsyncConnection, keys: tuple[str, ...], records: list[tuple[Any, ...]]
    ) -> None:
        """Start a COPY of `records` and return once its rows are on their way, so the next
        chunk is checked and encoded while the database stores this one (the client's work
        hidden behind the server's). One COPY at a time: every statement of the call first
        waits for the one in flight (`_copy_done`)."""
        await self._copy_done()
        if not self._begun:
            # asyncpg begins its transaction at the first statement SQLAlchemy sends; COPY
            # goes to the driver directly, so make sure that BEGIN has happened.
            if not self.scope.savepoint:
                await connection.exec_driver_sql("SELECT 1")
            self._begun = True
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        self._pending = asyncio.ensure_future(self._copy_records(raw, keys, records))
        # One turn of the loop: the COPY encodes and writes its rows, then waits for the
        # server's answer while this coroutine goes on.
        await asyncio.sleep(0)

    async def _copy_done(self) -> None:
        """Wait for the COPY in flight, if any (its refusal is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def _copy_records(
        self, raw: Any, keys: tuple[str, ...], records: list[tuple[Any, ...]]
    ) -> None:
        table = self.plan.table
        try:
            await raw.copy_records_to_table(
                table.name,
                records=records,
                columns=[self.plan.column(key).name for key in keys],
                schema_name=table.schema,
            )
        except Exception as error:
            if "asyncpg" not in type(error).__module__:
                raise
            wrapped = sa_exc.DBAPIError(f"COPY {table.name}", None, error)
            raise self._translated(wrapped) from error

    # --- update, upsert, delete -------------------------------------------------------

    async def update_many(self, rows: Iterable[Any]) -> int:
        return await self._atomic(lambda: self._update_many(rows))

    async def _update_many(self, rows: Iterable[Any]) -> int:
        updated = 0
        for start, chunk in self._numbered_chunks(rows):
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

    async def upsert_many(
        self, rows: Iterable[Any], conflict: Sequence[Any] | None, update: Sequence[Any] | None
    ) -> int:
        return await self._atomic(lambda: self._upsert_many(rows, conflict, update))

    async def _upsert_many(
        self, rows: Iterable[Any], conflict: Sequence[Any] | None, update: Sequence[Any] | None
    ) -> int:
        # No conflict= given: rows are matched on the primary key, so they must carry it.
        by_key = conflict is None
        target = self.plan.pk if conflict is None else self.plan.conflict_target(conflict)
        chosen = None if update is None else self.plan.keys_of(update, "update")
        written = 0
        for start, chunk in self._numbered_chunks(rows):
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

    async def delete_many(self, ids: Iterable[Any]) -> int:
        if isinstance(ids, (str, bytes, Mapping, SQLModel)):
            raise BulkInputError("delete_many takes an iterable of primary keys")
        return await self._atomic(lambda: self._delete_many(ids))

    async def _delete_many(self, ids: Iterable[Any]) -> int:
        deleted = 0
        for chunk in chunks(ids, CHUNK_ROWS * 5):
            keys: list[Any] = list(dict.fromkeys(self._key_values(chunk)))
            if self.backend.bulk_lock_order:
                keys = _sorted(keys)
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

    def _membership(self, keys: Sequence[Any]) -> Iterator[Any]:
        """WHERE clauses that together select the rows whose primary key is in `keys`
        (values, or tuples in key order for a composite key)."""
        if len(self.plan.pk) == 1:
            yield from self.backend.membership(self.plan.column(self.plan.pk[0]), keys)
            return
        # Row-value IN works on all three backends; chunked under the parameter limit.
        columns = [self.plan.column(name) for name in self.plan.pk]
        row = sa.tuple_(*columns)
        step = max(1, (self.backend.max_params - 10) // len(columns))
        for offset in range(0, len(keys), step):
            yield row.in_(list(keys[offset : offset + step]))

    def _in_lock_order(
        self, rows: list[dict[str, Any]], groups: list[tuple[list[int], tuple[str, ...]]],
        key: Sequence[str],
    ) -> list[tuple[list[int], tuple[str, ...]]]:
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

    # --- plumbing ---------------------------------------------------------------------

    def _numbered_chunks(self, rows: Iterable[Any]) -> Iterator[tuple[int, list[Any]]]:
        if isinstance(rows, (str, bytes, Mapping, SQLModel)):
            raise BulkInputError("rows must be an iterable of model instances or mappings")
        start = 0
        for chunk in chunks(rows, CHUNK_ROWS):
            yield start, chunk
            start += len(chunk)

    def _checked(
        self, rows: list[dict[str, Any]], groups: list[tuple[list[int], tuple[str, ...]]],
        start: int,
    ) -> list[tuple[list[int], tuple[str, ...], list[list[Any]]]]:
        """Each group with its values column by column, all checked before anything of
        the chunk is sent."""
        return [
            # One group of every row in input order (the usual case) is the chunk itself:
            # no list copy.
            (positions, keys, self.plan.columns(
                rows if _every_row(positions, len(rows)) else [rows[i] for i in positions],
                keys, start, positions))
            for positions, keys in groups
        ]

    async def _open(self) -> tuple[AsyncConnection, StatementBuilder]:
        connection = await self.scope.open()
        sql = self._sql
        if sql is None:
            sql = self._sql = self._builder(connection)
        return connection, sql

    def _builder(self, connection: AsyncConnection) -> StatementBuilder:
        """The model's StatementBuilder for this dialect and Backend, made once."""
        dialect, backend = connection.dialect, self.backend
        cache_key = ("builder", id(dialect), id(backend))
        cached = self.plan.cache.get(cache_key)
        if cached is None or cached.dialect is not dialect or cached.backend is not backend:
            cached = self.plan.cache[cache_key] = StatementBuilder(self.plan, dialect, backend)
        builder: StatementBuilder = cached
        return builder

    async def _run(self, connection: AsyncConnection, statement: Any, params: Any = None) -> Any:
        await self._copy_done()
        try:
            return await connection.execute(statement, params)
        except sa_exc.DBAPIError as error:
            raise self._translated(error) from error

    async def _run_driver(self, connection: AsyncConnection, statement: str, params: Any) -> Any:
        await self._copy_done()
        try:
            return await connection.exec_driver_sql(statement, params)
        except sa_exc.DBAPIError as error:
            raise self._translated(error) from error

    def _translated(self, error: sa_exc.DBAPIError) -> BaseException:
        """The DatabaseError for a refusal, naming the column where the backend did not."""
        translated = translate(error, self.backend)
        if isinstance(translated, DatabaseError) and translated.column is None:
            translated.column = self.plan.constraint_columns(translated.constraint)
        if isinstance(translated, ForeignKeyError) and translated.column is None:
            # SQLite names no column; with one foreign key it can only be that one.
            references = [key for key in self.plan.keys if self.plan.column(key).foreign_keys]
            if translated.missing_reference and len(references) == 1:
                translated.column = references[0]
        return translated

    def _sync_session(self, rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[Any]:
        """Objects of this model already in the session take the values just written, so
        a later `get()` does not answer from a stale identity map. Returns them."""
        matched: list[Any] = []
        if not self.session.identity_map:
            return matched
        by_key = {tuple(row.get(k) for k in key): row for row in rows}
        columns = set(self.plan.keys) - set(self.plan.pk)
        for instance in list(self.session.identity_map.values()):
            if type(instance) is not self.model:
                continue
            row = by_key.get(tuple(getattr(instance, k, None) for k in key))
            if row is not None:
                matched.append(instance)
                self.scope.set(instance, {name: row[name] for name in columns.intersection(row)})
        return matched

    async def _sync_versions(self, instances: list[Any]) -> None:
        """Versioned objects just written take the row's version as it now is (the write
        bumped it, or the row gave one): their next ORM update checks against that."""
        if self.plan.version is None or not instances:
            return
        pk = [self.plan.column(name) for name in self.plan.pk]
        version = self.plan.column(self.plan.version)
        by_key = {self.key.of(instance): instance for instance in instances}
        connection, _ = await self._open()
        for clause in self._membership(list(by_key)):
            statement = sa.select(version, *pk).where(clause)
            for value, *key in (await self._run(connection, statement)).all():
                instance = by_key[key[0] if len(key) == 1 else tuple(key)]
                self.scope.set(instance, {version.key: value})

    def _forget(self, keys: list[Any]) -> None:
        """Deleted rows' objects leave the session (as a flushed ORM delete would)."""
        if not self.session.identity_map:
            return
        gone = set(keys)
        of = self.key.of
        self.scope.deleted([
            instance for instance in list(self.session.identity_map.values())
            if type(instance) is self.model and of(instance) in gone
        ])



#: Key types `PrimaryKey.values` reshapes (a tuple, list or mapping per key).
_SHAPED = frozenset({tuple, list, dict})


def _every_row(positions: list[int], rows: int) -> bool:
    """Whether `positions` is every row of the chunk, in input order."""
    return len(positions) == rows and (rows == 0 or positions[-1] == rows - 1) and (
        positions == list(range(rows))
    )


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


def _sorted(keys: list[Any]) -> list[Any]:
    return [keys[i] for i in _sorted_positions(keys)]
