"""Every use of SQLAlchemy's private API, each behind one small named function.

SQLAlchemy has no public call for these; when an upgrade changes one of them, the test of
that function in tests/test_compat.py fails, and this module is the one place to fix.
The rest of the library calls these functions, never the private names.
"""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlmodel.ext.asyncio.session import AsyncSession

# --- pools --------------------------------------------------------------------------------


def pool_max_overflow(pool: Pool) -> int:
    """How many connections `pool` may open beyond its size (-1: no limit; 0 for a pool
    without overflow). QueuePool keeps it private (`_max_overflow`)."""
    return int(getattr(pool, "_max_overflow", 0))


def invalidate_generation(pool: Pool, raw: PoolProxiedConnection, error: BaseException) -> None:
    """What SQLAlchemy's Connection does on a disconnect: invalidate `raw`, and mark the
    pool's connections opened before it for replacement at their next checkout (there is
    no public call for "this connection's generation": `Pool._invalidate`)."""
    pool._invalidate(raw, error)


def raise_connect_error(error: Exception, engine: Engine) -> NoReturn:
    """Raise a driver error met while connecting as `engine.connect()` raises it: wrapped
    in a DBAPIError, the pool invalidated on a disconnect, `handle_error` hooks run
    (`Connection._handle_dbapi_exception_noconnection`)."""
    Connection._handle_dbapi_exception_noconnection(error, engine.dialect, engine)


def core_connection(engine: AsyncEngine, raw: PoolProxiedConnection) -> AsyncConnection:
    """An AsyncConnection over a connection already checked out of `engine`'s pool (the
    `connection=` argument of Connection, which SQLAlchemy documents as internal)."""
    return AsyncConnection(engine, Connection(engine.sync_engine, connection=raw))


# --- the async drivers' adapters ----------------------------------------------------------


def adapted_error(adapter: Any, error: Exception) -> BaseException:
    """The exception the async adapter (`raw.dbapi_connection`) maps a driver error onto
    (a DB-API error of the dialect's `loaded_dbapi`), as its cursor would raise it; its
    `_handle_exception` raises it. Returned, not raised."""
    try:
        adapter._handle_exception(error)
    except Exception as adapted:
        return adapted
    return error


def adapter_in_transaction(adapter: Any) -> bool:
    """Whether the asyncpg adapter has begun its transaction (it begins one lazily, before
    its first statement, unless in autocommit): `_transaction`."""
    return adapter._transaction is not None or bool(adapter.autocommit)


async def begin_adapter_transaction(adapter: Any) -> None:
    """Begin the asyncpg adapter's transaction as it would before its next statement,
    for a statement sent to the driver around it (`_start_transaction`). Does nothing
    when the adapter is in a transaction already, or in autocommit."""
    if not adapter_in_transaction(adapter):
        await adapter._start_transaction()


# --- the ORM ------------------------------------------------------------------------------


def is_flushing(session: Session) -> bool:
    """Whether `session` is inside `flush()` (`Session._flushing`)."""
    return bool(session._flushing)


def locks_rows(statement: Any) -> bool:
    """Whether a SELECT carries FOR UPDATE / FOR SHARE (`Select._for_update_arg`)."""
    return getattr(statement, "_for_update_arg", None) is not None


def register_new(session: AsyncSession, instance: Any) -> None:
    """Register `instance`, just added to `session`, as new in its transaction, as the ORM
    registers what it inserts (`SessionTransaction._new`): a rollback then expunges it
    instead of leaving an instance of a row that no longer exists."""
    transaction = session.sync_session._transaction
    if transaction is not None:
        transaction._new[inspect(instance)] = True


def state_constructor(manager: Any) -> Any:
    """The InstanceState factory of a mapped class's ClassManager, called as
    `constructor(instance, manager)` (`ClassManager._state_constructor`)."""
    return manager._state_constructor


# --- SQL elements -------------------------------------------------------------------------


def cache_key(element: Any) -> Any:
    """SQLAlchemy's cache key of a SQL element (its `.key` is the statement's shape, its
    bound values apart), or None when the element cannot be cached
    (`ClauseElement._generate_cache_key`)."""
    return element._generate_cache_key()
