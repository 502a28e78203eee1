"""Running one single-statement write so that a refusal leaves the caller's transaction
usable, with its earlier work intact.

- Nothing done in the transaction yet: nothing to protect, no savepoint. A refusal rolls
  the fresh transaction back.
- Something done, on SQLite and InnoDB: a refused statement undoes only itself, no
  savepoint needed (`Backend.write_savepoint` is None).
- Something done, on PostgreSQL: any error aborts the whole transaction, so the statement
  runs after a savepoint with a fixed name (prepared once by the driver), and a refusal
  rolls back to it.

The savepoint rolls: it is not released after a write that succeeded, and the next write
in the same transaction releases and sets it again in one message ("RELEASE SAVEPOINT s;
SAVEPOINT s"), so a series of writes costs one extra round trip each instead of two. A
savepoint left open is harmless: COMMIT ends it with the transaction, and statements the
caller runs after it belong to the transaction as before. The write knows the savepoint is
still its own, and the innermost one, when the connection's transaction and innermost
SQLAlchemy savepoint are the ones it was set under; otherwise it sets a new one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlmodel.ext.asyncio.session import AsyncSession

from ._channel import Channel
from ._write_errors import translated
from ._write_statements import ModelColumns
from .dialects import Backend

T = TypeVar("T")

#: `connection.info` key: the (transaction, innermost savepoint) the rolling savepoint was
#: last set under. The objects themselves, not their ids: a freed transaction's id can be
#: reused by the next one.
_SET_UNDER = "sqlmodel_async.write_savepoint_under"


async def guarded(
    session: AsyncSession,
    backend: Backend,
    meta: ModelColumns,
    work: Callable[[Channel], Awaitable[T]],
    values: Mapping[str, Any],
    *,
    deleting: bool = False,
) -> T:
    """Run `work` on the session's connection under the rules above; a refusal is raised
    translated (the library's error, with the column at fault)."""
    at_stake = session.in_transaction()
    savepoint = backend.write_savepoint if at_stake else None
    channel = await Channel.open(session, backend, meta.mapper)
    try:
        if savepoint is not None:
            await _set_savepoint(channel, savepoint)
        return await work(channel)
    except sa_exc.DBAPIError as error:
        if not error.connection_invalidated:  # else nothing is left to recover
            await _recover(session, channel, savepoint, at_stake)
        raise await translated(session, meta, backend, error, values, deleting=deleting) from error
    except BaseException:
        await _recover(session, channel, savepoint, at_stake)
        raise


async def _set_savepoint(channel: Channel, name: str) -> None:
    sync: Any = channel.connection.sync_connection
    here = (sync.get_transaction(), sync.get_nested_transaction())
    info = channel.connection.info
    held = info.get(_SET_UNDER)
    if held is not None and held[0] is here[0] and held[1] is here[1]:
        await channel.control(f"RELEASE SAVEPOINT {name}", f"SAVEPOINT {name}")
    else:
        await channel.control(f"SAVEPOINT {name}")
    info[_SET_UNDER] = here


async def _recover(
    session: AsyncSession, channel: Channel, savepoint: str | None, at_stake: bool
) -> None:
    try:
        if savepoint is not None:
            # The savepoint stays set: the next write can roll it on.
            await channel.control(f"ROLLBACK TO SAVEPOINT {savepoint}")
        elif not at_stake:
            await session.rollback()
    except Exception:
        # The connection went away meanwhile: the caller's scope rolls back, and the
        # original error (raised by our caller) says what happened.
        pass
