"""One bulk call as one unit: everything it sends is kept, or none of it is, and the
caller's transaction stays usable either way.

- Nothing else at stake (a fresh transaction, no objects in the session): no savepoint. A
  refusal rolls the fresh transaction back, which undoes every statement of the call,
  however many it sent, and loses nothing of the caller's.
- Otherwise (the transaction already ran something, or the session holds objects that a
  rollback would expire): the call runs inside a savepoint, and a refusal rolls back to it.
  The savepoint's name is fixed, so the driver prepares its three statements once per
  connection rather than once per call (SQLAlchemy's `begin_nested()` numbers them).
- A transient failure (deadlock, lost connection) ends the whole transaction on every
  backend, as MariaDB's deadlock handling does by itself: the caller retries the unit.

The savepoint is opened lazily, by the first statement, so a call refused before it sends
anything (bad input) or given no rows sends nothing at all.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapper, attributes
from sqlmodel.ext.asyncio.session import AsyncSession

from ._channel import Channel
from ._savepoint import rollback_to_savepoint, set_savepoint
from .dialects import Backend
from .errors import TransientError

_UNLOADED = object()


class BulkScope:
    """The connection of one bulk call, and what to undo in the session if it fails."""

    __slots__ = (
        "_gone", "_restore", "backend", "channel", "connection", "mapper", "savepoint", "session"
    )

    def __init__(self, session: AsyncSession, backend: Backend, mapper: Mapper[Any]) -> None:
        self.session = session
        self.backend = backend
        self.mapper = mapper
        self.connection: AsyncConnection | None = None
        #: The connection's way to the driver (set with `connection`).
        self.channel: Channel | None = None
        self.savepoint = False
        #: (instance, its committed values before the call changed them) for the objects
        #: of the session that took the call's values.
        self._restore: list[tuple[Any, dict[str, Any]]] = []
        #: Objects of deleted rows: they leave the session when the call succeeds.
        self._gone: list[Any] = []

    async def open(self) -> AsyncConnection:
        """The session's connection, with the savepoint set where something is at stake."""
        connection = self.connection
        if connection is None:
            session = self.session
            # Pending objects go first: the rows may refer to them (a new team's id). This
            # flush is the caller's work, so it happens before the call's savepoint.
            # (check_modified is O(1); `session.dirty` walks the whole identity map.)
            if session.new or session.deleted or session.identity_map.check_modified():
                await session.flush()
            at_stake = session.in_transaction() or bool(session.identity_map)
            channel = self.channel = await Channel.open(session, self.backend, self.mapper)
            connection = channel.connection
            if at_stake:
                await set_savepoint(channel)
                self.savepoint = True
            self.connection = connection
        return connection

    def changed(self, instance: Any, names: Any) -> None:
        """`instance` is about to take the call's values for `names`: keep its own."""
        state = instance.__dict__
        self._restore.append((instance, {name: state.get(name, _UNLOADED) for name in names}))

    def set(self, instance: Any, values: dict[str, Any]) -> None:
        """Give `instance` the values just written, as committed values (undone on failure)."""
        self.changed(instance, values)
        for name, value in values.items():
            attributes.set_committed_value(instance, name, value)

    def deleted(self, instances: list[Any]) -> None:
        self._gone.extend(instances)

    async def commit(self) -> None:
        session = self.session
        for instance in self._gone:
            if instance in session:
                session.expunge(instance)

    async def rollback(self, error: BaseException) -> None:
        """Undo the call: its statements (savepoint, or the fresh transaction) and the
        values it gave objects of the session. Never raises: `error` is what the caller
        sees."""
        for instance, values in reversed(self._restore):
            unloaded = [name for name, value in values.items() if value is _UNLOADED]
            for name, value in values.items():
                if value is not _UNLOADED:
                    attributes.set_committed_value(instance, name, value)
            if unloaded and instance in self.session:
                self.session.expire(instance, unloaded)
        if self.channel is None:
            return
        if self.savepoint and not isinstance(error, TransientError):
            try:
                await rollback_to_savepoint(self.channel)
                return
            except Exception:  # the transaction is gone (a deadlock on MariaDB): all of it
                pass
        with contextlib.suppress(Exception):
            await self.session.rollback()
