"""Read replicas: which engine serves a read.

`Database(url, replicas=[...])` keeps one engine per replica in a `ReplicaSet`:

- `db.read_only()` runs its whole session on a replica, picked round robin.
- `db.session(replica=True)` reads from a replica until the session writes; from the first
  write (a flush, an INSERT/UPDATE/DELETE, `SELECT ... FOR UPDATE`, or any textual SQL) every
  statement goes to the primary, so the session reads its own writes.
- Everything else (`session()`, `transaction()`, `run_in_transaction()`) uses the primary.

A replica that cannot be reached (refused, timed out, connection lost) is skipped with a
warning and not tried again for `retry_after` seconds; when no replica answers, the read
runs on the primary. A read never fails just because a replica is down.

Replicas lag: a row committed on the primary shows on a replica a moment later. Read what
you have just written on the primary (`db.session()` or `db.read_only(replica=False)`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import ClauseElement
from sqlmodel.ext.asyncio.session import AsyncSession

from ._compat import is_flushing, locks_rows
from .dialects import Backend, normalize_url
from .errors import ConfigurationError
from .loading import GuardedSession

logger = logging.getLogger("sqlmodel_async.replicas")

#: Seconds a replica that failed is left alone before it is tried again.
DEFAULT_RETRY_AFTER = 30.0
#: Seconds to wait for a replica connection (and its first statement) before skipping it.
DEFAULT_CONNECT_TIMEOUT = 5.0


class RoutingSession(GuardedSession):
    """The sync side of a `db.session(replica=True)` session: reads go to `read_bind`
    until the session writes, then everything goes to the session's own bind (the primary).
    """

    read_bind: Engine | None = None
    has_written: bool = False

    def get_bind(
        self,
        mapper: Any | None = None,
        *,
        clause: ClauseElement | None = None,
        **kw: Any,
    ) -> Any:
        primary = super().get_bind(mapper, clause=clause, **kw)
        if self.read_bind is None or self.has_written:
            return primary
        if is_flushing(self) or not _is_plain_read(clause):
            self.has_written = True
            return primary
        return self.read_bind


def _is_plain_read(clause: ClauseElement | None) -> bool:
    """A SELECT without FOR UPDATE. Textual SQL may write: it is not a plain read."""
    if clause is None or not getattr(clause, "is_select", False):
        return False
    return not locks_rows(clause)


@dataclass
class _Replica:
    engine: AsyncEngine
    down_until: float = 0.0  # time.monotonic() before which it is skipped

    @property
    def name(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


class ReplicaSet:
    """The replicas of one primary, their health, and the round robin over them."""

    def __init__(
        self,
        engines: Sequence[AsyncEngine],
        *,
        backend: Backend,
        retry_after: float = DEFAULT_RETRY_AFTER,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        if retry_after < 0 or connect_timeout <= 0:
            raise ConfigurationError(
                "replica_retry_after must be >= 0 and replica_connect_timeout > 0"
            )
        self._replicas = [_Replica(engine) for engine in engines]
        self._backend = backend
        self._next = 0
        self.retry_after = retry_after
        self.connect_timeout = connect_timeout

    @classmethod
    def from_urls(
        cls,
        urls: Sequence[str | URL],
        *,
        backend: Backend,
        connect_args: dict[str, Any],
        engine_options: dict[str, Any],
        retry_after: float = DEFAULT_RETRY_AFTER,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> ReplicaSet:
        """One engine per replica URL, with the primary's pool and connect options."""
        if isinstance(urls, str | URL):
            raise ConfigurationError("replicas must be a list of URLs, not one URL")
        if urls and backend.embedded:
            raise ConfigurationError("SQLite has no replicas: replicas are for PostgreSQL/MySQL")
        engines = []
        for url in urls:
            try:
                parsed = normalize_url(url)
            except (ValueError, sa_exc.ArgumentError) as error:
                raise ConfigurationError(f"invalid replica URL: {error}") from None
            if parsed.get_backend_name() != backend.name:
                raise ConfigurationError(
                    f"replica {parsed.render_as_string()} is not a {backend.name} database "
                    "like the primary"
                )
            engines.append(
                create_async_engine(parsed, connect_args=dict(connect_args), **engine_options)
            )
        return cls(
            engines, backend=backend, retry_after=retry_after, connect_timeout=connect_timeout
        )

    @property
    def engines(self) -> list[AsyncEngine]:
        return [replica.engine for replica in self._replicas]

    def __len__(self) -> int:
        return len(self._replicas)

    def _candidates(self) -> list[_Replica]:
        """The replicas to try, in round-robin order, leaving out those resting after a
        failure."""
        count = len(self._replicas)
        if count == 0:
            return []
        start = self._next
        self._next = (start + 1) % count
        now = time.monotonic()
        ordered = self._replicas[start:] + self._replicas[:start]
        return [replica for replica in ordered if replica.down_until <= now]

    async def route(self, session: AsyncSession, *, whole_session: bool) -> AsyncEngine | None:
        """Point a fresh session's reads at a replica that answers.

        Opens the session's connection to the replica and begins its transaction read-only
        (which proves the replica answers). With `whole_session`, every statement of the
        session goes there; otherwise only reads until the session writes (`RoutingSession`).
        Returns the replica's engine, or None when no replica answers: the session then stays
        on the primary, untouched.
        """
        for replica in self._candidates():
            bind = replica.engine.sync_engine
            try:
                async with asyncio.timeout(self.connect_timeout):
                    connection = await session.connection(bind_arguments={"bind": bind})
                    await connection.exec_driver_sql(self._backend.read_only_begin)
            except (sa_exc.DBAPIError, OSError, TimeoutError) as error:
                await _discard(session)
                self._mark_down(replica, error)
                continue
            if replica.down_until:
                replica.down_until = 0.0
                logger.info("replica %s answers again: reads go to it", replica.name)
            sync_session = session.sync_session
            if whole_session:
                sync_session.bind = bind
            elif isinstance(sync_session, RoutingSession):
                sync_session.read_bind = bind
            else:
                raise TypeError("routing reads needs a session made with RoutingSession")
            return replica.engine
        return None

    def _mark_down(self, replica: _Replica, error: BaseException) -> None:
        replica.down_until = time.monotonic() + self.retry_after
        others = "another replica" if len(self._replicas) > 1 else "the primary"
        logger.warning(
            "replica %s is unreachable (%s): reads go to %s; trying it again in %gs",
            replica.name, _describe(error), others, self.retry_after,
        )

    async def dispose(self) -> None:
        for replica in self._replicas:
            await replica.engine.dispose()


async def _discard(session: AsyncSession) -> None:
    """Drop a failed replica connection from the session so the next try starts clean."""
    try:
        await session.rollback()
    except (sa_exc.DBAPIError, OSError):
        await session.invalidate()


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__


__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_RETRY_AFTER", "ReplicaSet", "RoutingSession"]
