"""`Database`: one URL in, a configured engine, session factory and session scopes out."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from types import TracebackType
from typing import Any, Self, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import MetaData, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import exc as orm_exc
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from .dialects import (
    BACKEND_INFO_KEY,
    QUEUE_POOL_OPTIONS,
    Backend,
    backend_for,
    normalize_url,
    sqlite_max_params,
)
from .errors import ConfigurationError, translate
from .loading import GuardedSession
from .pgbouncer import pgbouncer_connect_args
from .reader import Reader, checkout
from .replicas import DEFAULT_CONNECT_TIMEOUT, DEFAULT_RETRY_AFTER, ReplicaSet, RoutingSession
from .retry import retry_transient, watch_disconnects

T = TypeVar("T")

#: Execution option naming the statement that begins a SQLite transaction (default BEGIN).
BEGIN_OPTION = "sqlmodel_async_begin"

#: After a connection is invalidated (a disconnect), for this long readers check idle
#: connections out the careful way: the others may be stale and need replacing.
STALE_POOL_SECONDS = 60.0

#: How long a SQLite writer waits for the lock before SQLITE_BUSY, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000

#: The pool when none is given: 10 connections kept open, none beyond them. SQLAlchemy's own
#: default (5 + 10 overflow) closes every overflow connection when it is returned, so under
#: steady load connections are opened and closed all the time; a request that finds all 10
#: busy waits (up to pool_timeout) for one to come back instead.
DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 0


class Database:
    """An async database: engine, pool, session factory and the scopes to use them.

    >>> db = Database("postgresql://app@localhost/app", pool_size=10)
    >>> async with db.transaction() as session:
    ...     session.add(Hero(name="Deadpond", secret_name="Dive Wilson"))

    Plain URLs get the async driver (`postgresql://` → asyncpg, `mysql://`/`mariadb://` →
    asyncmy, `sqlite://` → aiosqlite). Pool options are checked against the backend.
    Bound parameters are kept out of error messages and logs (SQLAlchemy's
    `hide_parameters=True`); `Database(url, hide_parameters=False)` shows them.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        echo: bool = False,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        pool_timeout: float | None = None,
        pool_recycle: int | None = None,
        pool_pre_ping: bool = False,
        metadata: MetaData | None = None,
        connect_args: dict[str, Any] | None = None,
        replicas: Sequence[str | URL] = (),
        replica_retry_after: float = DEFAULT_RETRY_AFTER,
        replica_connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        pgbouncer: bool = False,
        **engine_options: Any,
    ) -> None:
        try:
            self._url = normalize_url(url)
        except (ValueError, sa_exc.ArgumentError) as error:
            raise ConfigurationError(f"invalid database URL: {error}") from None
        self.backend: Backend = backend_for(self._url.get_backend_name())
        if self.backend.name == "sqlite":
            self.backend = replace(self.backend, max_params=sqlite_max_params())
        self.metadata = metadata if metadata is not None else SQLModel.metadata

        pool = {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
            "pool_recycle": pool_recycle,
        }
        _validate_pool_options(pool)
        if not isinstance(pool_pre_ping, bool):
            raise ConfigurationError(f"pool_pre_ping must be True or False, got {pool_pre_ping!r}")
        # Whether an idle pooled connection may need I/O at checkout (see reader.checkout).
        self._pool_checks_idle = pool_pre_ping or (pool_recycle is not None and pool_recycle >= 0)
        self._last_invalidation = -STALE_POOL_SECONDS
        options: dict[str, Any] = {k: v for k, v in pool.items() if v is not None}
        # Bound parameters stay out of error messages and logs (they are users' data:
        # names, secrets); pass hide_parameters=False to see them while debugging.
        options.update(echo=echo, pool_pre_ping=pool_pre_ping, hide_parameters=True)
        options.update(engine_options)
        connect = dict(connect_args or {})
        if pgbouncer:
            connect = pgbouncer_connect_args(self._url, connect)
        if self.is_memory_sqlite:
            given = [name for name in QUEUE_POOL_OPTIONS if pool[name] is not None]
            if given:
                raise ConfigurationError(
                    f"{', '.join(given)} cannot apply to in-memory SQLite: it is one "
                    "connection shared by every session (a static pool)"
                )
            options["poolclass"] = StaticPool
            connect.setdefault("check_same_thread", False)
        elif "poolclass" not in engine_options:  # a pool class of the caller's takes its own
            options.setdefault("pool_size", DEFAULT_POOL_SIZE)
            options.setdefault("max_overflow", DEFAULT_MAX_OVERFLOW)
        try:
            self.engine: AsyncEngine = create_async_engine(
                self._url, connect_args=connect, **options
            )
        except ModuleNotFoundError as error:
            raise ConfigurationError(
                f"the driver for {self.url} is not installed ({error.name}): "
                f"pip install {error.name}"
            ) from None
        except (TypeError, sa_exc.ArgumentError) as error:
            raise ConfigurationError(f"invalid engine option for {self.url}: {error}") from None
        except sa_exc.InvalidRequestError:
            raise ConfigurationError(
                f"{self._url.get_driver_name()!r} is not an async driver: use "
                f"{self.backend.name}+{self.backend.driver}:// (or a plain "
                f"{self.backend.name}:// URL)"
            ) from None
        if self.backend.name == "sqlite":
            _configure_sqlite(self.engine, file_database=not self.is_memory_sqlite)
        watch_disconnects(self.engine, self.backend)
        self._watch_invalidations()
        if self.backend.read_only_end is not None:
            _reset_on_checkin(self.engine, self.backend.read_only_end)
        # Sessions meant to write begin with the backend's `write_begin` (SQLite: BEGIN
        # IMMEDIATE) at their first statement: an engine with that option over the same
        # pool, so the transaction still begins only when first needed (a bulk call or a
        # write can then tell a fresh transaction from one that already did something).
        self._write_bind: dict[str, Any] = (
            {"bind": self.engine.execution_options(**{BEGIN_OPTION: self.backend.write_begin})}
            if self.backend.write_begin is not None
            else {}
        )
        self.sessionmaker = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            sync_session_class=GuardedSession,
            expire_on_commit=False,
            # Repository reads the backend from here: it knows the run-time SQLite limit.
            info={BACKEND_INFO_KEY: self.backend},
        )
        #: When set, every reader() reads through this connection (the testing plugin's
        #: `session` fixture sets it: reads then see the test's rolled-back transaction).
        self.reader_connection: AsyncConnection | None = None
        self._gates: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            WeakKeyDictionary()
        )
        # read_only() and session(replica=True) read from these (see replicas.py).
        self.replicas = ReplicaSet.from_urls(
            replicas, backend=self.backend, connect_args=connect, engine_options=options,
            retry_after=replica_retry_after, connect_timeout=replica_connect_timeout,
        )

    # --- construction -----------------------------------------------------------------

    @classmethod
    def from_env(
        cls, variable: str = "DATABASE_URL", *, default: str | None = None, **options: Any
    ) -> Self:
        """A Database for the URL in the environment variable `variable`."""
        url = os.environ.get(variable) or default
        if not url:
            raise ConfigurationError(f"{variable} is not set")
        return cls(url, **options)

    @property
    def url(self) -> str:
        """The URL with its password hidden: safe for logs and error messages."""
        return self._url.render_as_string(hide_password=True)

    @property
    def is_memory_sqlite(self) -> bool:
        return self.backend.name == "sqlite" and self._url.database in (None, "", ":memory:")

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    # --- scopes -----------------------------------------------------------------------

    @asynccontextmanager
    async def session(self, *, replica: bool = False) -> AsyncIterator[AsyncSession]:
        """A session; you commit. Whatever is not committed is rolled back at the end.

        `replica=True`: reads go to a replica until the session first writes; from then on
        everything goes to the primary.
        """
        routing: dict[str, Any] = {"sync_session_class": RoutingSession} if replica else {}
        async with self.sessionmaker(**routing) as session:
            if replica:
                await self.replicas.route(session, whole_session=False)
            try:
                yield session
            except sa_exc.DBAPIError as error:
                raise translate(error, self.backend) from error

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits at the end, or rolls back if the block raises.

        On SQLite the transaction takes the write lock as it begins (BEGIN IMMEDIATE),
        waiting for it up to the busy timeout: a deferred transaction that reads and then
        writes fails at once when another writer committed in between (SQLite cannot
        upgrade a stale snapshot), so concurrent writers to different rows would refuse
        each other. Use `session()` or `read_only()` to read without the lock.
        """
        async with self.sessionmaker(**self._write_bind) as session:
            try:
                yield session
                await session.commit()
            except BaseException as error:
                await session.rollback()
                if isinstance(error, sa_exc.DBAPIError | orm_exc.StaleDataError):
                    raise translate(error, self.backend) from error
                raise

    @asynccontextmanager
    async def read_only(self, *, replica: bool = True) -> AsyncIterator[AsyncSession]:
        """A session in a read-only transaction: any write raises `ReadOnlyError`.

        Served by a replica when the Database has replicas (round robin; the primary when
        none answers); `replica=False` reads on the primary, which has your latest writes.

        The database itself refuses the write (PostgreSQL `SET TRANSACTION READ ONLY`,
        MariaDB/MySQL `START TRANSACTION READ ONLY`, SQLite `PRAGMA query_only`), and the
        connection goes back to the pool with no read-only state left on it.
        """
        async with self.sessionmaker() as session:
            if not replica or await self.replicas.route(session, whole_session=True) is None:
                connection = await session.connection()
                await connection.exec_driver_sql(self.backend.read_only_begin)
                if self.backend.read_only_end is not None:
                    connection.info[_READ_ONLY_SET] = True
            keep = _keep_read_only(session, self.backend)
            try:
                yield session
            except sa_exc.DBAPIError as error:
                raise translate(error, self.backend) from error
            finally:
                event.remove(session.sync_session, "after_begin", keep)
                await _end_read_only(session, self.backend)
            # No explicit rollback: closing the session rolls the transaction back without
            # expiring the objects read here, so they stay usable after the scope.

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        """A `Reader` (reader.py): schema reads (`reader.project(Model, Schema)`) on one
        pooled connection, with no session and no transaction; the fast path for request
        handlers that only read.

        Callers beyond the pool's size wait here in arrival order (one asyncio.Semaphore)
        rather than in the pool's own queue (a timed wait each, no order): measured with
        wrk at 64 connections on a pool of 10, p99 latency 955 ms without, 88 ms with.
        """
        if self.reader_connection is not None:
            yield Reader(self.engine, self.backend, connection=self.reader_connection)
            return
        async with self._reader_gate():
            try:
                raw = await checkout(self.engine, idle_may_need_io=self._idle_may_need_io())
            except sa_exc.DBAPIError as error:
                raise translate(error, self.backend) from error
            reader = Reader(self.engine, self.backend, raw=raw)
            try:
                yield reader
            finally:
                await reader.close()

    def _idle_may_need_io(self) -> bool:
        """Pings or recycling, or a disconnect lately: idle connections may be replaced."""
        since = time.monotonic() - self._last_invalidation
        return self._pool_checks_idle or since < STALE_POOL_SECONDS

    def _watch_invalidations(self) -> None:
        def invalidated(*_args: Any) -> None:
            self._last_invalidation = time.monotonic()

        event.listen(self.engine.sync_engine, "invalidate", invalidated)
        event.listen(self.engine.sync_engine, "soft_invalidate", invalidated)

    def _reader_gate(self) -> asyncio.Semaphore:
        """The gate of reader(), one per event loop, as wide as the pool can grow."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            pool: Any = self.engine.pool
            size = getattr(pool, "size", lambda: 1)()
            overflow = getattr(pool, "_max_overflow", 0)  # QueuePool keeps it private
            width = 1_000_000 if overflow < 0 else max(1, size + overflow)
            gate = self._gates[loop] = asyncio.Semaphore(width)
        return gate

    async def run_in_transaction(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        retries: int = 10,  # SERIALIZABLE contention on PostgreSQL needs more than 3
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        retry_on: tuple[type[BaseException], ...] = (),
    ) -> T:
        """Run `work(session)` in a fresh transaction and commit; on a transient error
        (deadlock, serialization failure, lost connection, SQLITE_BUSY) run the whole unit
        again in a new transaction, with exponential backoff and jitter.

        Raises `TransientError` when the retries run out; other errors are not retried,
        except those in `retry_on` (library errors such as `ConcurrentUpdateError`: pass it
        for work that re-reads what it changes, so running it again cannot lose an update).
        """

        async def attempt() -> T:
            async with self.sessionmaker(**self._write_bind) as session:
                if self._write_bind:
                    # SQLite: the write lock before the work starts, so a busy database is
                    # retried before the work runs rather than after it.
                    await session.connection()
                try:
                    result = await work(session)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
                return result

        return await retry_transient(
            attempt, retries=retries, backend=self.backend, backoff=backoff,
            max_backoff=max_backoff, retry_on=retry_on,
        )

    # --- schema and lifecycle ---------------------------------------------------------

    async def create_all(self) -> None:
        """Create the metadata's tables that do not exist yet.

        On MariaDB/MySQL each table is created in `utf8mb4` (unless it names its own
        `mysql_default_charset`), whatever the database's default character set."""
        for table in self.metadata.tables.values():
            for name, value in self.backend.table_options.items():
                if name not in table.dialect_kwargs:
                    table.dialect_kwargs[name] = value
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def drop_all(self) -> None:
        """Drop the metadata's tables."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.drop_all)

    async def ping(self) -> None:
        """Round trip to the database; raises if it cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        await self.replicas.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.dispose()


def _validate_pool_options(pool: dict[str, Any]) -> None:
    # -1 means "no limit" for max_overflow and "never" for pool_recycle.
    minimum = {"pool_size": 1, "max_overflow": -1, "pool_timeout": 0, "pool_recycle": -1}
    for name, value in pool.items():
        if value is None:
            continue
        whole = name != "pool_timeout"
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
            kind = "a whole number" if whole else "a number"
            raise ConfigurationError(f"{name} must be {kind}, got {value!r}")
        if value < minimum[name]:
            raise ConfigurationError(f"{name} must be at least {minimum[name]}, got {value!r}")


#: Marks a pooled connection that carries connection-level read-only state (SQLite).
_READ_ONLY_SET = "sqlmodel_async.read_only_set"


def _keep_read_only(session: AsyncSession, backend: Backend) -> Callable[..., None]:
    """Make every later transaction of a read_only() session read-only as well.

    PostgreSQL's and MariaDB's read-only mode lasts one transaction: after a commit inside
    the scope the next one would accept writes. SQLite's lasts as long as the connection,
    so the connection is marked and the pool's checkin resets it (`_reset_on_checkin`).
    """

    def after_begin(_session: Any, transaction: Any, connection: Any) -> None:
        if transaction.nested:  # a savepoint inside the read-only transaction
            return
        connection.exec_driver_sql(backend.read_only_begin)
        if backend.read_only_end is not None:
            connection.info[_READ_ONLY_SET] = True

    event.listen(session.sync_session, "after_begin", after_begin)
    return after_begin


async def _end_read_only(session: AsyncSession, backend: Backend) -> None:
    """Undo SQLite's connection-wide query_only now, on the scope's own connection.

    The pool's checkin would also undo it, but a connection that is not checked in at the
    end of the scope (the pytest plugin binds sessions to the test's connection) needs it
    done here. A connection that cannot take it is invalidated, never reused read-only.
    """
    if backend.read_only_end is None:
        return
    try:
        connection = await session.connection()
    except sa_exc.InvalidRequestError:  # a refused write left the transaction failed
        await session.rollback()
        connection = await session.connection()
    if not connection.info.pop(_READ_ONLY_SET, False):
        return
    try:
        await connection.exec_driver_sql(backend.read_only_end)
    except sa_exc.DBAPIError:
        await connection.invalidate()


def _reset_on_checkin(engine: AsyncEngine, statement: str) -> None:
    """Undo connection-level read-only state before the connection is reused."""

    @event.listens_for(engine.sync_engine, "checkin")
    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is None or not record.info.pop(_READ_ONLY_SET, False):
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
        except Exception as error:
            # A connection that cannot take the reset must not be reused.
            record.invalidate(error)


def _configure_sqlite(engine: AsyncEngine, *, file_database: bool) -> None:
    """Foreign keys on; WAL and a busy timeout for files; SAVEPOINT that works.

    The sqlite3 module begins transactions itself, late and not for every statement, which
    breaks SAVEPOINT; we turn its handling off and emit BEGIN when SQLAlchemy begins.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if file_database:
            # The busy timeout first: switching a new file to WAL takes its lock, and
            # connections opening it at the same moment must wait for that, not fail.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(BEGIN_OPTION, "BEGIN"))
