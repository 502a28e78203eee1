"""What every bulk operation shares (`bulk.BulkWriter` assembles them): one call as one
unit (`_atomic`, on `_bulk_scope.BulkScope`), the connection and the statement builder,
running statements with their refusals translated, the rows of a set of keys, and the
session's objects brought in line with what was written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from ._bulk_copy import CopyPath
from ._bulk_scope import BulkScope
from ._keys import PrimaryKey
from .bulk_rows import TablePlan, plan_for
from .bulk_sql import StatementBuilder
from .dialects import Backend
from .errors import DatabaseError, ForeignKeyError, translate

ModelT = TypeVar("ModelT", bound=SQLModel)
T = TypeVar("T")

#: Most rows in one multi-row VALUES statement (keeps statements and their compile small).
VALUES_ROWS = 4_000

#: (positions of the group's rows in the chunk, their columns, the checked values)
CheckedGroup = tuple[list[int], tuple[str, ...], list[list[Any]]]


class WriterBase(Generic[ModelT]):
    """One model's bulk calls on one session: the parts of `BulkWriter` build on it."""

    def __init__(
        self, model: type[ModelT], session: AsyncSession, backend: Backend,
        key: PrimaryKey | None = None,
    ) -> None:
        self.model = model
        self.session = session
        self.backend = backend
        self.plan: TablePlan = plan_for(model)
        self.key = key if key is not None else PrimaryKey(model)
        self.scope = BulkScope(session, backend, sa.inspect(model))
        self.copy = CopyPath(self.plan, backend, self.scope, self._run, self._translated)
        self._sql: StatementBuilder | None = None

    async def _atomic(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one bulk call: all of it is kept, or none of it (see _bulk_scope)."""
        try:
            result = await work()
            await self.copy.done()
        except BaseException as error:
            await self.copy.abandon()
            await self.scope.rollback(error)
            raise
        await self.scope.commit()
        return result

    def _checked(
        self, rows: list[dict[str, Any]], groups: list[tuple[list[int], tuple[str, ...]]],
        start: int,
    ) -> list[CheckedGroup]:
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

    # --- statements ---------------------------------------------------------------------

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
        await self.copy.done()
        try:
            return await connection.execute(statement, params)
        except sa_exc.DBAPIError as error:
            raise self._translated(error) from error

    async def _run_driver(self, connection: AsyncConnection, statement: str, params: Any) -> Any:
        """A statement compiled for the driver: rows (or SQLAlchemy's result, where the
        driver's own path is not taken; see _channel.py)."""
        await self.copy.done()
        channel = self.scope.channel
        try:
            if channel is not None and channel.connection is connection:
                return await channel.driver_sql(statement, params)
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

    # --- the session's objects ------------------------------------------------------------

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


def _every_row(positions: list[int], rows: int) -> bool:
    """Whether `positions` is every row of the chunk, in input order."""
    return len(positions) == rows and (rows == 0 or positions[-1] == rows - 1) and (
        positions == list(range(rows))
    )
