"""Read-only enforcement for `Database.read_only()`: the database itself refuses writes,
and no read-only state outlives the scope on a pooled connection.

PostgreSQL's and MariaDB's read-only mode lasts one transaction; SQLite's (`PRAGMA
query_only`) lasts as long as the connection, so a connection that carries it is marked,
and both the scope's end and the pool's checkin undo it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from .dialects import Backend

#: Marks a pooled connection that carries connection-level read-only state (SQLite).
_READ_ONLY_SET = "sqlmodel_async.read_only_set"


async def begin_read_only(connection: AsyncConnection, backend: Backend) -> None:
    """Make the transaction of `connection` read-only (its first statement)."""
    await connection.exec_driver_sql(backend.read_only_begin)
    if backend.read_only_end is not None:
        connection.info[_READ_ONLY_SET] = True


def keep_read_only(session: AsyncSession, backend: Backend) -> Callable[..., None]:
    """Make every later transaction of a read_only() session read-only as well; returns
    the listener, for `event.remove(session.sync_session, "after_begin", listener)`.

    PostgreSQL's and MariaDB's read-only mode lasts one transaction: after a commit inside
    the scope the next one would accept writes.
    """

    def after_begin(_session: Any, transaction: Any, connection: Any) -> None:
        if transaction.nested:  # a savepoint inside the read-only transaction
            return
        connection.exec_driver_sql(backend.read_only_begin)
        if backend.read_only_end is not None:
            connection.info[_READ_ONLY_SET] = True

    event.listen(session.sync_session, "after_begin", after_begin)
    return after_begin


async def end_read_only(session: AsyncSession, backend: Backend) -> None:
    """Undo SQLite's connection-wide query_only now, on the scope's own connection.

    The pool's checkin would also undo it, but a connection that is not checked in at the
    end of the scope (one given to `Database.bind()`, as the pytest plugin does) needs it
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


def reset_on_checkin(engine: AsyncEngine, statement: str) -> None:
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
