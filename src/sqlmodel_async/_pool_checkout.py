"""Checking pooled connections out for `Database.reader()`: the gate callers wait at, the
checkout itself, and the tracking of disconnects that decides how careful it must be."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.util import greenlet_spawn

from ._compat import pool_max_overflow, raise_connect_error

#: After a connection is invalidated (a disconnect), for this long readers check idle
#: connections out the careful way: the others may be stale and need replacing.
STALE_POOL_SECONDS = 60.0


class PoolCheckout:
    """The reader gate and the checkout of one engine's pool."""

    def __init__(self, engine: AsyncEngine, *, pool_checks_idle: bool) -> None:
        """`pool_checks_idle`: the pool pings or recycles idle connections at checkout."""
        self.engine = engine
        self._pool_checks_idle = pool_checks_idle
        self._last_invalidation = -STALE_POOL_SECONDS
        self._gates: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            WeakKeyDictionary()
        )

        def invalidated(*_args: Any) -> None:
            self._last_invalidation = time.monotonic()

        event.listen(engine.sync_engine, "invalidate", invalidated)
        event.listen(engine.sync_engine, "soft_invalidate", invalidated)

    def idle_may_need_io(self) -> bool:
        """Pings or recycling, or a disconnect lately: idle connections may be replaced."""
        since = time.monotonic() - self._last_invalidation
        return self._pool_checks_idle or since < STALE_POOL_SECONDS

    def gate(self) -> asyncio.Semaphore:
        """The gate of reader(), one per event loop, as wide as the pool can grow.

        Callers beyond the pool's size wait here in arrival order (one asyncio.Semaphore)
        rather than in the pool's own queue (a timed wait each, no order), which keeps the
        slowest requests' latency down under load."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            pool: Any = self.engine.pool
            size = getattr(pool, "size", lambda: 1)()
            overflow = pool_max_overflow(pool)
            width = 1_000_000 if overflow < 0 else max(1, size + overflow)
            gate = self._gates[loop] = asyncio.Semaphore(width)
        return gate

    async def checkout(self) -> PoolProxiedConnection:
        """A connection from the pool (see `checkout`)."""
        return await checkout(self.engine, idle_may_need_io=self.idle_may_need_io())


async def checkout(engine: AsyncEngine, *, idle_may_need_io: bool) -> PoolProxiedConnection:
    """A connection from `engine`'s pool; a failure to connect raised as `engine.connect()`
    raises it (a DBAPIError, the pool invalidated on a disconnect, handle_error hooks run).

    SQLAlchemy's pool does its I/O through a greenlet, and starting one costs about as much
    as the rest of the checkout. Taking an idle connection needs no I/O unless the pool
    pings or recycles it, or replaces one a disconnect invalidated (the caller says so:
    `idle_may_need_io`); otherwise it is taken without a greenlet. Should it need I/O after
    all, SQLAlchemy refuses before doing any (MissingGreenlet), puts the record back, and
    the checkout runs in a greenlet.
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
            raise_connect_error(error, sync_engine)

    return await greenlet_spawn(connect)


def checkin_needs_io(engine: AsyncEngine) -> bool:
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
