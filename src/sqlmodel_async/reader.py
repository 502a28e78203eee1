"""`Reader`: schema reads for request handlers, on one pooled connection with no session
and no transaction.

>>> async with database.reader() as reader:
...     hero = await reader.project(Hero, HeroPublicWithTeam).get_one(1)
...     heroes = await reader.project(Hero, HeroPublic).list(limit=100)
...     body = await reader.project(Hero, HeroPublicWithTeam).get_json(1)  # response bytes

Each statement runs on its own (autocommit): no BEGIN and no ROLLBACK round trips, and each
statement sees one consistent snapshot (a team and its heroes are two statements, as under
READ COMMITTED anyway). A Reader has no write method.

On PostgreSQL (asyncpg) the projection's own statements (by key, the unfiltered listing, a
collection's children by an array of keys) go to the driver directly: compiled once to
SQL, prepared and cached by asyncpg, their rows handed to the projection as they come.
SQLAlchemy's per-execute work (execution context, cache key, result objects) is most of
what a one-row read costs in Python. A statement whose columns need SQLAlchemy to convert
values (a TypeDecorator that converts, JSON, Enum, Numeric...), a filtered list, and the
other backends run through SQLAlchemy Core on the same connection.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.util import greenlet_spawn

from .dialects import Backend
from .errors import TransientError, translate
from .projected import Projected

SchemaT = TypeVar("SchemaT", bound=BaseModel)

#: Column types whose values asyncpg hands back exactly as SQLAlchemy would (no result
#: processing). Anything else keeps SQLAlchemy's execution path.
_PLAIN_TYPES = (sa.Integer, sa.String, sa.Boolean, sa.Date, sa.DateTime, sa.Time, sa.Uuid)


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
        `connection` the caller owns (the testing plugin's: the test's transaction)."""
        self.backend = backend
        self._engine = engine
        self._raw = raw
        self._core = connection
        self._owned = connection is None
        sync_engine = engine.sync_engine
        # Direct reads skip SQLAlchemy's cursor events: an engine that logs statements
        # (echo, a query counter, tracing) keeps seeing every one of them.
        self._direct = (
            raw is not None
            and backend.direct_reads
            and engine.dialect.driver == "asyncpg"
            and not sync_engine.echo
            and not sync_engine.dispatch.before_cursor_execute
            and not sync_engine.dispatch.after_cursor_execute
        )
        # True while a statement is out: if the task is cancelled then, the connection may
        # still be receiving the answer and must not go back to the pool.
        self._busy = False
        # True when the last statement found the connection lost (fetch() reads again).
        self._lost = False

    @property
    def direct(self) -> bool:
        """Whether kept statements go to the driver itself (see the module's docstring)."""
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
        that needs no conversion (see the module's docstring), else through Core.

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
            prepared = _driver_statement(statement, self._engine.dialect)
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
        self, prepared: _DriverStatement, parameters: Mapping[str, Any]
    ) -> Sequence[Any]:
        values = {**prepared.defaults, **parameters}
        arguments = [
            process(values[name]) if (process := prepared.processors.get(name)) else values[name]
            for name in prepared.names
        ]
        self._busy = True
        try:
            rows: Sequence[Any] = await self._driver.fetch(
                prepared.sql, *arguments
            )
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

    @property
    def _driver(self) -> Any:
        assert self._raw is not None
        return self._raw.driver_connection

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
        try:
            # The async adapter's own mapping of driver errors onto DB-API exceptions.
            self._raw.dbapi_connection._handle_exception(error)  # type: ignore[union-attr]
        except dbapi.Error as adapted:
            disconnect = dialect.is_disconnect(
                adapted, self._raw.dbapi_connection, None
            ) or self.backend.is_disconnect(adapted)
            if disconnect:
                self._lost = True
                # What Connection does on a disconnect (SQLAlchemy has no public call for
                # "this connection's generation"): invalidate it, and mark the pool's
                # connections opened before it for replacement at their next checkout.
                self._engine.sync_engine.pool._invalidate(self._raw, adapted)
            wrapped = sa_exc.DBAPIError.instance(
                sql, arguments, adapted, dbapi.Error,
                hide_parameters=self._engine.sync_engine.hide_parameters,
                connection_invalidated=disconnect, dialect=dialect,
            )
            return translate(wrapped, self.backend)
        except Exception as other:  # not a DB-API error: report it as it is
            return other
        return error

    async def _core_connection(self) -> AsyncConnection:
        """SQLAlchemy Core on this Reader's pooled connection, made on first need."""
        if self._core is None:
            sync_engine = self._engine.sync_engine
            assert self._raw is not None
            core = AsyncConnection(self._engine, Connection(sync_engine, connection=self._raw))
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
        elif self._direct and not _checkin_needs_io(self._engine):
            # Only driver calls ran on it: no transaction is open, the reset does nothing.
            self._raw.close()
            return
        await greenlet_spawn(self._raw.close)


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    """A statement compiled for the driver: its SQL, its parameters in order, the values
    bound in the statement itself and the parameters that need SQLAlchemy's conversion."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]


#: Compiled once per kept statement (and dialect); None: SQLAlchemy's path is needed.
_compiled: WeakKeyDictionary[Any, dict[Dialect, _DriverStatement | None]] = WeakKeyDictionary()


def _driver_statement(statement: Any, dialect: Dialect) -> _DriverStatement | None:
    per_dialect = _compiled.get(statement)
    if per_dialect is None:
        per_dialect = _compiled[statement] = {}
    if dialect not in per_dialect:
        per_dialect[dialect] = _compile(statement, dialect)
    return per_dialect[dialect]


def _compile(statement: Any, dialect: Dialect) -> _DriverStatement | None:
    if not all(_plain(column.type, dialect) for column in statement.selected_columns):
        return None
    compiled = statement.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None  # rendered per call (expanding IN, literal LIMIT): SQLAlchemy's job
    if compiled.escaped_bind_names:
        return None
    names = tuple(compiled.positiontup or ())
    processors = {}
    for name in names:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return _DriverStatement(compiled.string, names, dict(compiled.params), processors)


def _plain(column_type: Any, dialect: Dialect) -> bool:
    """Whether the driver's values for this column type are SQLAlchemy's values too."""
    while isinstance(column_type, sa.TypeDecorator):
        if type(column_type).process_result_value is not sa.TypeDecorator.process_result_value:
            return False  # the decorator converts what it reads
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.Float):
        return not column_type.asdecimal  # asyncpg reads float columns as float
    # Enum is a String to SQLAlchemy, but its values become enum members.
    if not isinstance(column_type, _PLAIN_TYPES) or isinstance(column_type, sa.Enum):
        return False
    implementation = column_type.dialect_impl(dialect)
    return implementation.result_processor(dialect, None) is None


async def checkout(engine: AsyncEngine, *, idle_may_need_io: bool) -> PoolProxiedConnection:
    """A connection from `engine`'s pool; a failure to connect raised as `engine.connect()`
    raises it (a DBAPIError, the pool invalidated on a disconnect, handle_error hooks run).

    SQLAlchemy's pool does its I/O through a greenlet, and starting one costs about as much
    as the rest of the checkout (15 us, measured). Taking an idle connection needs no I/O
    unless the pool pings or recycles it, or replaces one a disconnect invalidated (the
    caller says so: `idle_may_need_io`); otherwise it is taken without a greenlet. Should it
    need I/O after all, SQLAlchemy refuses before doing any (MissingGreenlet), puts the
    record back, and the checkout runs in a greenlet.
    """
    sync_engine = engine.sync_engine
    pool = sync_engine.pool
    if not idle_may_need_io and isinstance(pool, QueuePool) and pool.checkedin() > 0:
        try:
            return sync_engine.raw_connection()
        except sa_exc.MissingGreenlet:
            pass

    def connect() -> PoolProxiedConnection:
        try:
            return sync_engine.raw_connection()
        except sync_engine.dialect.loaded_dbapi.Error as error:
            Connection._handle_dbapi_exception_noconnection(error, sync_engine.dialect, sync_engine)

    return await greenlet_spawn(connect)


def _checkin_needs_io(engine: AsyncEngine) -> bool:
    """Whether giving a clean connection (no transaction open on it) back to `engine`'s
    pool may do I/O: when the pool is full it closes the connection instead, and checkin or
    reset hooks may run statements. Otherwise it is a queue put."""
    pool = engine.sync_engine.pool
    return not (
        isinstance(pool, QueuePool)
        and pool.checkedin() < pool.size()
        and not pool.dispatch.checkin
        and not pool.dispatch.reset
    )
