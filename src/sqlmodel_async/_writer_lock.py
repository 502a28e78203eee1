"""One write transaction at a time per process, where the database itself takes one
writer at a time (SQLite: `Backend.writer_wait`).

Without it, concurrent write transactions of one process each ask SQLite for its lock
(BEGIN IMMEDIATE), and those that find it taken wait in SQLite's busy handler, which
sleeps and polls with growing pauses: under load, writers queue behind sleeps rather
than behind each other. Queued here instead, on an asyncio lock, each starts the moment
the previous one ends. Other processes on the same file still meet SQLite's own lock
and its busy timeout.

A write transaction that waits longer than the busy timeout fails as SQLite's would
(`TransientError`, "database is locked"); one opened inside another of the same task can
never get the lock, and fails at once saying so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

from .errors import TransientError


class WriterLock:
    """The write lock of one Database, one asyncio.Lock per event loop."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        self._locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary()
        )
        #: The task holding each loop's lock.
        self._holders: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[object]] = (
            WeakKeyDictionary()
        )

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        task = asyncio.current_task()
        if lock.locked():
            if task is not None and self._holders.get(loop) is task:
                raise TransientError(
                    "database is locked: a write transaction opened inside another one of "
                    "the same task waits for itself (SQLite takes one writer at a time)",
                    detail="the database is busy: try again",
                )
            try:
                await asyncio.wait_for(lock.acquire(), self.wait_seconds)
            except TimeoutError:
                raise TransientError(
                    "database is locked: another write transaction of this process held "
                    f"the write lock for more than {self.wait_seconds:g} s (a transaction "
                    "opened inside another one waits for it forever)",
                    detail="the database is busy: try again",
                ) from None
        else:
            await lock.acquire()
        if task is not None:
            self._holders[loop] = task
        try:
            yield
        finally:
            self._holders.pop(loop, None)
            lock.release()
