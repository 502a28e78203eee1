"""The scopes of a `Database`: `session`, `transaction`, `read_only`, `run_in_transaction`
and `reader`, and `bind`, which points them all at one connection.

`Database` (database.py) builds the engine, pool and session factory these use; this module
holds what each scope does with them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlalchemy.orm import exc as orm_exc
from sqlmodel.ext.asyncio.session import AsyncSession

from ._pool_checkout import PoolCheckout
from ._read_only import begin_read_only, end_read_only, keep_read_only
from ._writer_lock import WriterLock
from .dialects import Backend
from .errors import translate
from .reader import Reader
from .replicas import ReplicaSet, RoutingSession
from .retry import retry_transient

T = TypeVar("T")


class Scopes:
    """The scope methods of `Database` (see there)."""

    backend: Backend
    engine: AsyncEngine
    replicas: ReplicaSet
    #: The session factory, and the one in use while `bind()` is in effect.
    _sessions: async_sessionmaker[AsyncSession]
    _bound_sessions: async_sessionmaker[AsyncSession] | None
    _bound_connection: AsyncConnection | None
    #: Session options of the scopes meant to write (an engine whose transactions begin
    #: with the backend's `write_begin`), or none.
    _write_bind: dict[str, Any]
    #: Write transactions one at a time, where the database takes one writer at a time.
    _writer_lock: WriterLock | None
    _pool_checkout: PoolCheckout

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The factory of the scopes' sessions: SQLModel's `AsyncSession`,
        `expire_on_commit=False`. While `bind()` is in effect, its sessions join the
        bound connection's transaction."""
        return self._bound_sessions or self._sessions

    @contextmanager
    def bind(self, connection: AsyncConnection) -> Iterator[AsyncConnection]:
        """Run every scope of this Database on `connection` until the block ends.

        `session()`, `transaction()`, `read_only()`, `run_in_transaction()`, `reader()` and
        the sessions of `sessionmaker` use `connection` instead of the pool's: begin a
        transaction on it first, and their sessions join it with savepoints, so that a
        commit in them releases a savepoint and rolling that transaction back undoes all
        their work (what the pytest plugin's `session` fixture does for each test).

        >>> async with db.engine.connect() as connection:
        ...     outer = await connection.begin()
        ...     with db.bind(connection):
        ...         await app_code(db)  # its commits release savepoints
        ...     await outer.rollback()

        A `sessionmaker(bind=engine)` session joins too when `engine` is the Database's or
        made from it with `execution_options()`. Replicas are still used where a scope
        asks for them. Nested, the inner binding applies until its block ends.
        """
        saved = (self._bound_sessions, self._bound_connection)
        joining = _JoiningSessionmaker(self._sessions, self.engine)
        joining.configure(bind=connection, join_transaction_mode="create_savepoint")
        self._bound_sessions, self._bound_connection = joining, connection
        try:
            yield connection
        finally:
            self._bound_sessions, self._bound_connection = saved

    @asynccontextmanager
    async def session(self, *, replica: bool = False) -> AsyncIterator[AsyncSession]:
        """A session; you commit. Whatever is not committed is rolled back at the end.

        `replica=True`: reads go to a replica until the session first writes; from then on
        everything goes to the primary.
        """
        routing: dict[str, Any] = {"sync_session_class": RoutingSession} if replica else {}
        async with opened(self.sessionmaker, **routing) as session:
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
        async with self._writing(), opened(self.sessionmaker, **self._write_bind) as session:
            try:
                yield session
                await session.commit()
            except BaseException as error:
                await session.rollback()
                if isinstance(error, sa_exc.DBAPIError | orm_exc.StaleDataError):
                    raise translate(error, self.backend) from error
                raise

    def _writing(self) -> AbstractAsyncContextManager[None]:
        """The write lock of a single-writer database (_writer_lock.py), else nothing.
        Not while bound: every scope then shares one connection and one transaction."""
        if self._writer_lock is None or self._bound_connection is not None:
            return nullcontext()
        return self._writer_lock.held()

    @asynccontextmanager
    async def read_only(self, *, replica: bool = True) -> AsyncIterator[AsyncSession]:
        """A session in a read-only transaction: any write raises `ReadOnlyError`.

        Served by a replica when the Database has replicas (round robin; the primary when
        none answers); `replica=False` reads on the primary, which has your latest writes.

        The database itself refuses the write (PostgreSQL `SET TRANSACTION READ ONLY`,
        MariaDB/MySQL `START TRANSACTION READ ONLY`, SQLite `PRAGMA query_only`), and the
        connection goes back to the pool with no read-only state left on it.
        """
        async with opened(self.sessionmaker) as session:
            if not replica or await self.replicas.route(session, whole_session=True) is None:
                await begin_read_only(await session.connection(), self.backend)
            keep = keep_read_only(session, self.backend)
            try:
                yield session
            except sa_exc.DBAPIError as error:
                raise translate(error, self.backend) from error
            finally:
                event.remove(session.sync_session, "after_begin", keep)
                await end_read_only(session, self.backend)
            # No explicit rollback: closing the session rolls the transaction back without
            # expiring the objects read here, so they stay usable after the scope.

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        """A `Reader` (reader.py): schema reads (`reader.project(Model, Schema)`) on one
        pooled connection, with no session and no transaction; the fast path for request
        handlers that only read.

        Callers beyond the pool's size wait here in arrival order (see
        `PoolCheckout.gate`) rather than in the pool's own queue.
        """
        if self._bound_connection is not None:
            yield Reader(self.engine, self.backend, connection=self._bound_connection)
            return
        pool = self._pool_checkout
        async with pool.gate():
            try:
                raw = await pool.checkout()
            except sa_exc.DBAPIError as error:
                raise translate(error, self.backend) from error
            reader = Reader(self.engine, self.backend, raw=raw)
            try:
                yield reader
            finally:
                await reader.close()

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
            async with self._writing(), opened(self.sessionmaker, **self._write_bind) as session:
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


class _JoiningSessionmaker(async_sessionmaker[AsyncSession]):
    """The session factory while `bind()` is in effect: configured like the Database's,
    and a session asking for the Database's engine as its bind (or an engine derived from
    it with `execution_options()`, such as the write engine of `transaction()` or an
    AUTOCOMMIT one for reads: they share its pool) gets the bound connection instead.
    Otherwise it would check out a connection of its own, outside the bound transaction:
    it would not see its rows, and on in-memory SQLite (one shared connection) its own
    transaction would end the bound one."""

    def __init__(self, factory: async_sessionmaker[AsyncSession], engine: AsyncEngine) -> None:
        super().__init__(class_=factory.class_, **factory.kw)
        self._pool = engine.sync_engine.pool

    def __call__(self, **local_kw: Any) -> AsyncSession:
        bind = local_kw.get("bind")
        if isinstance(bind, AsyncEngine) and bind.sync_engine.pool is self._pool:
            del local_kw["bind"]
        return super().__call__(**local_kw)


@asynccontextmanager
async def opened(
    factory: async_sessionmaker[AsyncSession], **options: Any
) -> AsyncIterator[AsyncSession]:
    """A new session from `factory`, closed at the end as `async with factory()` closes
    it. A session with no transaction left (committed, or never begun) has nothing to
    send: it is closed at once, without the greenlet hop and the shielded task that
    `AsyncSession.close()` on exit costs."""
    session = factory(**options)
    try:
        yield session
    finally:
        if session.sync_session.get_transaction() is None:
            session.sync_session.close()
        else:
            # As AsyncSession's own exit does: a cancelled caller still closes it.
            await asyncio.shield(asyncio.ensure_future(session.close()))
