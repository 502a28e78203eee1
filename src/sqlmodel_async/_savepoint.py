"""The library's one savepoint, set before a write or bulk call where earlier work of the
transaction is at stake, and rolled back to if the database refuses it.

It rolls: it is not released after a call that succeeded, and the next call in the same
transaction releases and sets it again in one message ("RELEASE SAVEPOINT s; SAVEPOINT
s"), so a series of calls costs one round trip each for it instead of two. A savepoint
left open is harmless: COMMIT ends it with the transaction, and statements the caller runs
after it belong to the transaction as before. Single-row writes and bulk calls share the
name and the bookkeeping, so one never releases a savepoint the other still counts on.

A call knows the savepoint is still its own, and the innermost one, when the connection's
transaction and innermost SQLAlchemy savepoint are the ones it was set under; otherwise it
sets a new one. The name is fixed, so the driver prepares its statements once.
"""

from __future__ import annotations

from typing import Any

from ._channel import Channel

NAME = "sqlmodel_async"

#: `connection.info` key: the (transaction, innermost savepoint) the savepoint was last
#: set under. The objects themselves, not their ids: a freed transaction's id can be
#: reused by the next one.
_SET_UNDER = "sqlmodel_async.savepoint_under"


async def set_savepoint(channel: Channel) -> None:
    sync: Any = channel.connection.sync_connection
    here = (sync.get_transaction(), sync.get_nested_transaction())
    info = channel.connection.info
    held = info.get(_SET_UNDER)
    if held is not None and held[0] is here[0] and held[1] is here[1]:
        await channel.control(f"RELEASE SAVEPOINT {NAME}", f"SAVEPOINT {NAME}")
    else:
        await channel.control(f"SAVEPOINT {NAME}")
    info[_SET_UNDER] = here


async def rollback_to_savepoint(channel: Channel) -> None:
    """Undo what was sent since the savepoint; it stays set for the next call."""
    await channel.control(f"ROLLBACK TO SAVEPOINT {NAME}")
