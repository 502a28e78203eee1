"""Running one single-statement write so that a refusal leaves the caller's transaction
usable, with its earlier work intact.

- Nothing done in the transaction yet: nothing to protect, no savepoint. A refusal rolls
  the fresh transaction back.
- Something done, on SQLite and InnoDB: a refused statement undoes only itself, no
  savepoint needed (`Backend.write_savepoint` is False).
- Something done, on PostgreSQL: any error aborts the whole transaction, so the statement
  runs after the library's savepoint (_savepoint.py), and a refusal rolls back to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlmodel.ext.asyncio.session import AsyncSession

from ._channel import Channel
from ._savepoint import rollback_to_savepoint, set_savepoint
from ._write_errors import translated
from ._write_statements import ModelColumns
from .dialects import Backend

T = TypeVar("T")


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
    savepoint = backend.write_savepoint and at_stake
    channel = await Channel.open(session, backend, meta.mapper)
    try:
        if savepoint:
            await set_savepoint(channel)
        return await work(channel)
    except sa_exc.DBAPIError as error:
        if not error.connection_invalidated:  # else nothing is left to recover
            await _recover(session, channel, savepoint, at_stake)
        raise await translated(session, meta, backend, error, values, deleting=deleting) from error
    except BaseException:
        await _recover(session, channel, savepoint, at_stake)
        raise


async def _recover(
    session: AsyncSession, channel: Channel, savepoint: bool, at_stake: bool
) -> None:
    try:
        if savepoint:
            await rollback_to_savepoint(channel)
        elif not at_stake:
            await session.rollback()
    except Exception:
        # The connection went away meanwhile: the caller's scope rolls back, and the
        # original error (raised by our caller) says what happened.
        pass
