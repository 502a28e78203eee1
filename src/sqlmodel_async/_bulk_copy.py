"""The COPY path of `create_many` (`Backend.bulk_copy`: PostgreSQL through asyncpg).

COPY streams rows in the driver's binary format: the fastest way in for a large chunk.
It goes to the driver's connection directly (`copy_records_to_table`), so this module
does what SQLAlchemy would otherwise do around a statement: it makes sure the
transaction has begun, and wraps and translates the driver's refusals.

Keys come back without RETURNING: they are taken from the key's sequence first, in one
round trip (`Backend.sequence_of`, `Backend.take_keys`), then COPYed with the rows, so
each key is known to be its row's.

COPY overlaps with the caller's work: `start` returns once the rows are on their way, and
the next chunk is checked and encoded while the database stores this one. One COPY is in
flight at a time; every other statement of the call first waits for it (`done`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from ._bulk_scope import BulkScope
from .dialects import Backend

if TYPE_CHECKING:
    from .bulk_rows import TablePlan
    from .bulk_sql import StatementBuilder

#: Fewest rows sent by COPY. Below it one INSERT ... SELECT FROM unnest costs fewer round
#: trips: COPY needs the transaction begun first, a CopyIn exchange, and, to return keys,
#: a statement that takes them from the sequence.
COPY_MIN_ROWS = 1_000

#: Column types whose values the driver's COPY encodes exactly as it would encode the same
#: value bound to an INSERT parameter (after SQLAlchemy's bind processing).
_COPY_TYPES = (
    sa.Integer, sa.Float, sa.Numeric, sa.String, sa.Boolean, sa.DateTime, sa.Date,
    sa.Time, sa.Interval, sa.Uuid, sa.LargeBinary,
)

#: Runs a statement on the call's connection, its refusal translated (the writer's `_run`).
Run = Callable[[AsyncConnection, Any], Awaitable[Any]]


class CopyPath:
    """The COPYs of one bulk call, and the one in flight."""

    __slots__ = ("_begun", "_pending", "_run", "_translated", "backend", "plan", "scope")

    def __init__(
        self, plan: TablePlan, backend: Backend, scope: BulkScope, run: Run,
        translated: Callable[[sa_exc.DBAPIError], BaseException],
    ) -> None:
        self.plan = plan
        self.backend = backend
        self.scope = scope
        self._run = run
        self._translated = translated
        #: The COPY in flight, and whether the transaction has begun for it.
        self._pending: asyncio.Future[None] | None = None
        self._begun = False

    def copies(self, connection: AsyncConnection, keys: tuple[str, ...], rows: int) -> bool:
        """Whether these rows go by COPY (the backend has it, enough rows, types COPY
        encodes)."""
        return (
            self.backend.bulk_copy and rows >= COPY_MIN_ROWS
            and copy_safe(self.plan, connection.dialect, keys)
        )

    async def insert_returning(
        self, connection: AsyncConnection, sql: StatementBuilder, auto: str,
        keys: tuple[str, ...], columns: list[list[Any]], rows: int,
    ) -> list[Any] | None:
        """COPY the rows with keys taken from `auto`'s sequence first (one round trip):
        the keys, in input order; None when the key has no sequence to take from."""
        sequence = await self._sequence(connection, auto)
        take = self.backend.take_keys
        if sequence is None or take is None:
            return None
        ids = list((await self._run(connection, take(sequence, rows))).scalar_one())
        full = (auto, *keys)
        await self.start(connection, full, sql.records(full, [ids, *columns]))
        return ids

    async def _sequence(self, connection: AsyncConnection, key: str) -> str | None:
        """The sequence behind an auto-increment key (SERIAL or identity BY DEFAULT: an
        identity ALWAYS takes no key from the client)."""
        cache_key = ("sequence", key)
        if cache_key not in self.plan.cache:
            column = self.plan.column(key)
            sequence = None
            sequence_of = self.backend.sequence_of
            if sequence_of is not None and (column.identity is None or not column.identity.always):
                table = connection.dialect.identifier_preparer.format_table(self.plan.table)
                found = sequence_of(table, column.name)
                sequence = (await self._run(connection, found)).scalar()
            self.plan.cache[cache_key] = sequence
        return self.plan.cache[cache_key]  # type: ignore[no-any-return]

    async def start(
        self, connection: AsyncConnection, keys: tuple[str, ...], records: list[tuple[Any, ...]]
    ) -> None:
        """Start a COPY of `records` and return once its rows are on their way, so the next
        chunk is checked and encoded while the database stores this one."""
        await self.done()
        if not self._begun:
            # The driver begins its transaction at the first statement SQLAlchemy sends;
            # COPY goes to the driver directly, so make sure that BEGIN has happened.
            if not self.scope.savepoint and self.scope.channel is not None:
                await self.scope.channel.begin()
            self._begun = True
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        self._pending = asyncio.ensure_future(self._copy_records(raw, keys, records))
        # One turn of the loop: the COPY encodes and writes its rows, then waits for the
        # server's answer while this coroutine goes on.
        await asyncio.sleep(0)

    async def done(self) -> None:
        """Wait for the COPY in flight, if any (its refusal is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def abandon(self) -> None:
        """The call failed: wait for the COPY in flight, if any, so the connection is free
        again before the rollback (its own refusal is not the one the caller sees)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            with contextlib.suppress(BaseException):
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
            if not self.backend.raised_by_driver(error):
                raise
            wrapped = sa_exc.DBAPIError(f"COPY {table.name}", None, error)
            raise self._translated(wrapped) from error


def copy_safe(plan: TablePlan, dialect: Dialect, keys: tuple[str, ...]) -> bool:
    """Whether every column of `keys` has a type COPY encodes as an INSERT would bind it."""
    cached = plan.cache.get(("copy", dialect.name, keys))
    if cached is None:
        cached = all(_copy_type(plan.column(key).type, dialect) for key in keys)
        plan.cache[("copy", dialect.name, keys)] = cached
    return bool(cached)


def _copy_type(type_: Any, dialect: Dialect) -> bool:
    impl = type_.dialect_impl(dialect)
    if isinstance(impl, sa.TypeDecorator):
        impl = impl.load_dialect_impl(dialect)
    return isinstance(impl, _COPY_TYPES) and not isinstance(impl, (sa.Enum, sa.PickleType))
