"""Pooled connections the server dropped (a restart, a failover, `wait_timeout`; KILL and
pg_terminate_backend here): a Reader's read finds its connection dead, discards it with
the pool's other connections of its generation, and reads again on a fresh connection,
so the caller sees its rows, not one error per stale connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import sqlalchemy as sa
from asyncmy import errors as asyncmy_errors
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from sqlmodel_async import Database, TransientError, translate

from .models import Hero

POOL = 5

_OWN_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
_ALIVE = {
    "postgresql": "SELECT pid FROM pg_stat_activity",
    "mysql": "SELECT ID FROM information_schema.PROCESSLIST",
}
_KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


class Service:
    """A Database with a pool of its own whose server connection ids are recorded, so
    that exactly its connections can be dropped."""

    def __init__(self, url: Any) -> None:
        self.db = Database(url, pool_size=POOL, max_overflow=0)
        self.ids: list[int] = []
        own_id = _OWN_ID[self.db.backend.name]

        @event.listens_for(self.db.engine.sync_engine, "connect")
        def record(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(own_id)
            self.ids.append(int(cursor.fetchone()[0]))
            cursor.close()
            dbapi_connection.rollback()  # the driver began a transaction: leave none open

    async def fill_pool(self) -> None:
        """Open POOL connections at once, then give them back: the pool holds them idle."""
        async with AsyncExitStack() as stack:
            for _ in range(POOL):
                connection = await stack.enter_async_context(self.db.engine.connect())
                await connection.exec_driver_sql("SELECT 1")

    async def drop_connections(self, admin: Database) -> int:
        """The server drops every open connection of this service (the admin's stay)."""
        async with admin.engine.connect() as connection:
            alive = (await connection.exec_driver_sql(_ALIVE[admin.backend.name])).scalars()
            victims = set(self.ids) & set(alive)
            for victim in victims:
                await connection.exec_driver_sql(_KILL[admin.backend.name].format(victim))
        await asyncio.sleep(0.2)  # the server closes their sockets
        return len(victims)


@pytest.fixture
async def service(db: Database) -> AsyncIterator[Service]:
    if db.backend.name == "sqlite":
        pytest.skip("no server connection to lose on SQLite")
    async with db.transaction() as session:
        session.add_all([Hero(name=f"hero-{i}", secret_name="s") for i in range(3)])
    service = Service(db.engine.url)
    yield service
    await service.db.dispose()


# reusable: the projection's kept statements (on PostgreSQL, straight to asyncpg);
# otherwise SQLAlchemy Core runs it (every backend).
@pytest.mark.parametrize("reusable", [True, False], ids=["kept", "core"])
async def test_reads_after_the_server_dropped_the_pool(
    db: Database, service: Service, reusable: bool
) -> None:
    statement = sa.select(Hero.__table__.c.name).order_by(Hero.__table__.c.id)  # type: ignore[attr-defined]

    async def read() -> list[str]:
        async with service.db.reader() as reader:
            return [row[0] for row in await reader.fetch(statement, reusable=reusable)]

    await service.fill_pool()
    assert await service.drop_connections(db) == POOL
    # One at a time: without the read again, each stale connection answered one error.
    for _ in range(POOL + 1):
        assert await read() == ["hero-0", "hero-1", "hero-2"]

    await service.fill_pool()
    assert await service.drop_connections(db) == POOL
    # All at once, each reader on its own stale connection.
    results = await asyncio.gather(*(read() for _ in range(POOL)), return_exceptions=True)
    assert results == [["hero-0", "hero-1", "hero-2"]] * POOL
    pool: Any = service.db.engine.pool
    assert pool.checkedout() == 0


async def test_a_caller_owned_connection_is_not_replaced(db: Database, service: Service) -> None:
    """A Reader on a connection the caller owns (the testing plugin's transaction) cannot
    swap it for another: the loss is raised, as a TransientError."""
    statement = sa.select(Hero.__table__.c.name)  # type: ignore[attr-defined]
    async with service.db.engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")
        with service.db.bind(connection):
            await service.drop_connections(db)
            with pytest.raises(TransientError):
                async with service.db.reader() as reader:
                    await reader.fetch(statement)


@pytest.mark.parametrize(
    "code",
    [
        1927,  # connection was killed
        2006,  # server has gone away
        2013,  # lost connection during query
        2055,  # lost connection, system error
        4031,  # disconnected by the server because of inactivity (wait_timeout)
    ],
)
def test_mysql_disconnect_codes_are_transient(code: int) -> None:
    """Raised by the driver outside a statement (SQLAlchemy then does not mark them as
    disconnects), they are still transient."""
    driver_error = asyncmy_errors.OperationalError(code, "connection lost")
    wrapped = sa_exc.DBAPIError.instance(
        None, None, driver_error, asyncmy_errors.Error, connection_invalidated=False
    )
    assert isinstance(translate(wrapped, "mysql"), TransientError)
