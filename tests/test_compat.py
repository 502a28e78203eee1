"""Pins each use of SQLAlchemy's private API (`sqlmodel_async._compat`): when an upgrade
changes one, the test named after its function fails here, not somewhere downstream."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, make_transient_to_detached
from sqlalchemy.orm import mapped_column as column
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database
from sqlmodel_async._compat import (
    adapted_error,
    adapter_in_transaction,
    begin_adapter_transaction,
    cache_key,
    core_connection,
    invalidate_generation,
    is_flushing,
    locks_rows,
    pool_max_overflow,
    raise_connect_error,
    register_new,
    state_constructor,
)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "compat_item"

    id: Mapped[int] = column(primary_key=True)
    name: Mapped[str]


# --- pools ----------------------------------------------------------------------------------


def test_pool_max_overflow(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/o.db", pool_size=3, max_overflow=2)
    assert pool_max_overflow(engine.pool) == 2
    unlimited = sa.create_engine(f"sqlite:///{tmp_path}/o.db", max_overflow=-1)
    assert pool_max_overflow(unlimited.pool) == -1
    assert pool_max_overflow(sa.create_engine("sqlite://").pool) == 0  # a static pool


def test_invalidate_generation(tmp_path: Path) -> None:
    """The connection is invalidated, and the pool's older ones are replaced at their next
    checkout."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/g.db", pool_size=2, max_overflow=0)
    older = engine.raw_connection()
    older_driver = older.driver_connection
    lost = engine.raw_connection()
    older.close()  # back in the pool, idle
    invalidate_generation(engine.pool, lost, RuntimeError("gone"))
    assert not lost.is_valid
    again = engine.raw_connection()
    assert again.driver_connection is not older_driver
    again.close()
    lost.close()
    engine.dispose()


def test_raise_connect_error(tmp_path: Path) -> None:
    """Raised as engine.connect() raises it: a DBAPIError, after the handle_error hooks."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    seen: list[BaseException] = []

    @event.listens_for(engine, "handle_error")
    def on_error(context: ExceptionContext) -> None:
        seen.append(context.original_exception)

    try:
        engine.raw_connection()
    except sqlite3.OperationalError as error:  # the pool raises the driver's own error
        driver_error = error
    with pytest.raises(sa_exc.OperationalError) as raised:
        raise_connect_error(driver_error, engine)
    assert raised.value.orig is driver_error
    assert seen == [driver_error]


async def test_core_connection(tmp_path: Path) -> None:
    """Core on a connection already checked out; closing it gives the connection back."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    try:
        raw = await greenlet_spawn(engine.sync_engine.raw_connection)
        connection = core_connection(engine, raw)
        assert (await connection.exec_driver_sql("SELECT 41 + 1")).scalar() == 42
        await connection.close()
        pool: Any = engine.sync_engine.pool
        assert pool.checkedout() == 0
    finally:
        await engine.dispose()


# --- the async drivers' adapters ------------------------------------------------------------


async def test_adapted_error(db: Database) -> None:
    """The adapter maps its driver's errors onto the dialect's DB-API errors, and hands
    back anything else as it is."""
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        adapter: Any = raw.dbapi_connection
        other = ValueError("not a driver error")
        assert adapted_error(adapter, other) is other
        dbapi = db.engine.dialect.loaded_dbapi
        if db.backend.direct_reads:  # asyncpg: its own classes, mapped by SQLSTATE
            import asyncpg

            error = asyncpg.exceptions.UniqueViolationError("duplicate key")
            adapted = adapted_error(adapter, error)
            assert isinstance(adapted, dbapi.IntegrityError)
            assert adapted.__cause__ is error
        else:
            error = dbapi.IntegrityError("duplicate key")
            assert adapted_error(adapter, error) is error


async def test_adapter_transaction(db: Database) -> None:
    """asyncpg's adapter begins its transaction lazily; begun by hand, it is the one
    SQLAlchemy then commits or rolls back."""
    if db.backend.name != "postgresql":
        pytest.skip("the asyncpg adapter's own transaction")
    async with db.engine.connect() as connection:
        await connection.begin()
        adapter: Any = (await connection.get_raw_connection()).dbapi_connection
        assert not adapter_in_transaction(adapter)
        await begin_adapter_transaction(adapter)
        assert adapter_in_transaction(adapter)
        await begin_adapter_transaction(adapter)  # once only
        assert adapter.driver_connection.is_in_transaction()
        await connection.rollback()
        assert not adapter_in_transaction(adapter)
        assert not adapter.driver_connection.is_in_transaction()
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        assert adapter_in_transaction(adapter)  # nothing to begin in autocommit


# --- the ORM --------------------------------------------------------------------------------


def test_is_flushing() -> None:
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    seen: list[bool] = []
    with Session(engine) as session:
        event.listen(session, "before_flush", lambda s, *_: seen.append(is_flushing(s)))
        assert not is_flushing(session)
        session.add(Item(id=1, name="a"))
        session.flush()
        assert not is_flushing(session)
    assert seen == [True]


def test_locks_rows() -> None:
    table = Item.__table__
    assert locks_rows(sa.select(table).with_for_update())
    assert locks_rows(sa.select(table).with_for_update(read=True))
    assert not locks_rows(sa.select(table))
    assert not locks_rows(sa.text("SELECT 1"))


@pytest.mark.parametrize("registered", [True, False])
async def test_register_new(registered: bool) -> None:
    """Registered as new, an instance added to the session is expunged by a rollback;
    otherwise it stays, persistent, although its row is gone."""
    engine = create_async_engine("sqlite+aiosqlite://")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            await session.connection()  # a transaction to roll back
            item = Item(id=1, name="a")
            make_transient_to_detached(item)
            session.add(item)
            if registered:
                register_new(session, item)
            await session.rollback()
            assert (item in session) is not registered
    finally:
        await engine.dispose()


def test_state_constructor() -> None:
    manager = manager_of_class(Item)
    item = Item.__new__(Item)
    state = state_constructor(manager)(item, manager)
    assert state.obj() is item
    assert state.class_ is Item


# --- SQL elements ---------------------------------------------------------------------------


def test_cache_key() -> None:
    """Same shape, other values: the same key; the values are kept apart."""
    table = Item.__table__
    five, six = cache_key(table.c.id == 5), cache_key(table.c.id == 6)
    assert five is not None and six is not None
    assert five.key == six.key
    assert cache_key(table.c.id > 5).key != five.key
    assert [bind.value for bind in six.bindparams] == [6]
