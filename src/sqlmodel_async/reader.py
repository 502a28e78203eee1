"""`Reader`: schema reads for request handlers, on one pooled connection with no session
and no transaction.

>>> async with database.reader() as reader:
...     hero = await reader.project(Hero, HeroPublicWithTeam).get_one(1)
...     heroes = await reader.project(Hero, HeroPublic).list(limit=100)
...     body = await reader.project(Hero, HeroPublicWithTeam).get_json(1)  # response bytes

Each statement runs on its own (autocommit): no BEGIN and no ROLLBACK round trips, and each
statement sees one consistent snapshot (a team and its heroes are two statements, as under
READ COMMITTED anyway). A Reader has no write method.

Where the backend allows it (PostgreSQL with asyncpg), the projection's own statements go
to the driver itself: see _asyncpg_reads.py. The rest runs through SQLAlchemy Core on the
same connection.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from . import _asyncpg_reads
from ._compat import adapted_error, core_connection, invalidate_generation
from ._driver_sql import DriverStatement
from ._pool_checkout import checkin_needs_io, checkout
from .dialects import Backend
from .errors import TransientError, translate
from .projected import Projected

SchemaT = TypeVar("SchemaT", bound=BaseModel)


class Reader:
    """Schema reads on one connection, outside any transaction. Get one from
    `Database.reader()`; it is valid inside that block only."""

    def __init__(
        self,
        engine: AsyncEngine,
        backend: Backend,
        *,
        raw: PoolProxiedConnection | None = None,
        connection: AsyncConnection | None = None,
    ) -> None:
        """On a pooled connection (`raw`, given back by `close()`), or on an open
        `connection` the caller owns (the one given to `Database.bind()`)."""
        self.backend = backend
        self._engine = engine
        self._raw = raw
        self._core = connection
        self._owned = connection is None
        self._direct = raw is not None and _asyncpg_reads.reads_directly(engine, backend)
        # True while a statement is out: if the task is cancelled then, the connection may
        # still be receiving the answer and must not go back to the pool.
        self._busy = False
        # True when the last statement found the connection lost (fetch() reads again).
        self._lost = False

    @property
    def direct(self) -> bool:
        """Whether kept statements go to the driver itself (see _asyncpg_reads.py)."""
        return self._direct

    # --- reads --------------------------------------------------------------------------

    def project(self, model: type[Any], schema: type[SchemaT]) -> Projected[SchemaT]:
        """Reads of `model` as `schema` instances or their JSON on this reader:
        `get`, `get_one`, `first`, `list`, `count`, `exists`, `paginate`,
        `paginate_cursor`, `stream` and `get_json`, `list_json`, `paginate_json`,
        `paginate_cursor_json` (projected.py). Planned once per (model, schema)."""
        return Projected(model, schema, self)

    @property
    def closed(self) -> bool:
        """Whether the block that gave this reader has ended (its connection is back in
        the pool): a stream still being read then raises instead of reading elsewhere."""
        if self._raw is not None:
            return not self._raw.is_valid
        return self._core is not None and self._core.closed

    # --- the RowSource of projection.py ---------------------------------------------------

    async def fetch(
        self, statement: Any, parameters: dict[str, Any] | None = None, *, reusable: bool = False
    ) -> Sequence[Any]:
        """The rows of `statement`: straight from the driver when it is a kept statement
        that needs no conversion (see _asyncpg_reads.py), else through Core.

        A pooled connection the server dropped since it was last used (a restart, a
        failover, `wait_timeout`, KILL) fails its next statement: it is discarded, with
        the pool's other connections of its generation, and the read runs once more on a
        fresh connection. A read changes nothing, so running it again is safe; a second
        failure is raised (`TransientError`, 503 over HTTP)."""
        try:
            return await self._fetch_once(statement, parameters, reusable)
        except TransientError:
            if not (self._lost and self._owned):
                raise
        await self._reconnect()
        return await self._fetch_once(statement, parameters, reusable)

    async def _fetch_once(
        self, statement: Any, parameters: dict[str, Any] | None, reusable: bool
    ) -> Sequence[Any]:
        self._lost = False
        if self._direct and reusable:
            prepared = _asyncpg_reads.prepared(statement, self._engine.dialect)
            if prepared is not None:
                return await self._fetch_direct(prepared, parameters or {})
        core = await self._core_connection()
        self._busy = True
        try:
            result = await core.execute(statement, parameters)
        except sa_exc.DBAPIError as error:
            self._busy = False
            # SQLAlchemy has invalidated the connection, and the pool, on a disconnect.
            self._lost = error.connection_invalidated
            raise translate(error, self.backend) from error
        self._busy = False
        return result.all()

    async def _fetch_direct(
        self, prepared: DriverStatement, parameters: Mapping[str, Any]
    ) -> Sequence[Any]:
        arguments = prepared.arguments(parameters)
        assert self._raw is not None
        self._busy = True
        try:
            rows = await _asyncpg_reads.fetch(self._raw, prepared.sql, arguments)
        except Exception as error:
            self._busy = False
            raise self._driver_error(error, prepared.sql, arguments) from error
        self._busy = False
        return rows

    async def _reconnect(self) -> None:
        """Give up the lost connection and check out another one. The pool's connections
        as old as the lost one are replaced as they are checked out (`_driver_error`)."""
        await self.close()
        self._raw = self._core = None
        self._lost = self._busy = False
        try:
            self._raw = await checkout(self._engine, idle_may_need_io=True)
        except sa_exc.DBAPIError as error:
            raise translate(error, self.backend) from error

    def _driver_error(
        self, error: Exception, sql: str | None, arguments: builtins.list[Any] | None
    ) -> BaseException:
        """`error` from the driver as the same library error SQLAlchemy's path raises.

        A lost connection is handled as SQLAlchemy's own path handles it: the connection is
        invalidated (not put back in the pool), and so are the pool's connections as old
        as it (they are replaced at their next checkout: the server that dropped this one
        has most likely dropped them too)."""
        dialect = self._engine.dialect
        dbapi = dialect.loaded_dbapi
        assert self._raw is not None
        # The async adapter's own mapping of driver errors onto DB-API exceptions.
        adapted = adapted_error(self._raw.dbapi_connection, error)
        if not isinstance(adapted, dbapi.Error):  # not a DB-API error: report it as it is
            return adapted
        disconnect = dialect.is_disconnect(
            adapted, self._raw.dbapi_connection, None
        ) or self.backend.is_disconnect(adapted)
        if disconnect:
            self._lost = True
            invalidate_generation(self._engine.sync_engine.pool, self._raw, adapted)
        wrapped = sa_exc.DBAPIError.instance(
            sql, arguments, adapted, dbapi.Error,
            hide_parameters=self._engine.sync_engine.hide_parameters,
            connection_invalidated=disconnect, dialect=dialect,
        )
        return translate(wrapped, self.backend)

    async def _core_connection(self) -> AsyncConnection:
        """SQLAlchemy Core on this Reader's pooled connection, made on first need."""
        if self._core is None:
            sync_engine = self._engine.sync_engine
            assert self._raw is not None
            core = core_connection(self._engine, self._raw)
            try:
                self._core = await core.execution_options(isolation_level="AUTOCOMMIT")
            except sync_engine.dialect.loaded_dbapi.Error as error:
                # Setting the isolation level is the connection's first round trip here:
                # on a connection the server dropped it fails, with the driver's own error
                # (SQLAlchemy does not wrap it).
                raise self._driver_error(error, None, None) from error
        return self._core

    async def close(self) -> None:
        """Give the pooled connection back; one whose read was interrupted midway is
        closed instead. A connection the caller owns stays open."""
        if not self._owned or self._raw is None:
            return
        if self._core is not None:
            if self._busy and not self._core.invalidated:
                await self._core.invalidate()
            await self._core.close()
            return
        if self._busy:
            await greenlet_spawn(self._raw.invalidate)
        elif self._direct and not checkin_needs_io(self._engine):
            # Only driver calls ran on it: no transaction is open, the reset does nothing.
            self._raw.close()
            return
        await greenlet_spawn(self._raw.close)
