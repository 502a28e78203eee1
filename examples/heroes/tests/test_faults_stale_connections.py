"""The read endpoints after the server dropped every pooled connection of the service
(KILL on MariaDB, pg_terminate_backend on PostgreSQL; a restart, a failover or
`wait_timeout` in production): every answer is a 200, none a 500 (an untranslated driver
error) or a 503 per stale connection, and nothing is logged as an error."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from heroes.api import create_app
from sqlalchemy import event

from sqlmodel_async import Database

POOL = 5

_OWN_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
_ALIVE = {
    "postgresql": "SELECT pid FROM pg_stat_activity",
    "mysql": "SELECT ID FROM information_schema.PROCESSLIST",
}
_KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


class Service:
    """The app on a Database of its own, whose server connection ids are recorded."""

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
        async with AsyncExitStack() as stack:
            for _ in range(POOL):
                connection = await stack.enter_async_context(self.db.engine.connect())
                await connection.exec_driver_sql("SELECT 1")

    async def drop_connections(self, admin: Database) -> int:
        async with admin.engine.connect() as connection:
            alive = (await connection.exec_driver_sql(_ALIVE[admin.backend.name])).scalars()
            victims = set(self.ids) & set(alive)
            for victim in victims:
                await connection.exec_driver_sql(_KILL[admin.backend.name].format(victim))
        return len(victims)


@pytest.fixture
async def service(db: Database) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    if db.backend.name == "sqlite":
        pytest.skip("no server connection to lose on SQLite")
    service = Service(db.engine.url)
    # Errors inside the app become the 500 a real server answers, not an exception here.
    transport = httpx.ASGITransport(
        app=create_app(database=service.db), raise_app_exceptions=False
    )
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://heroes.test") as client:
            yield service, client
    finally:
        await service.db.dispose()


async def test_read_endpoints_after_the_server_dropped_the_pool(
    db: Database,
    service: tuple[Service, httpx.AsyncClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app_db, client = service
    caplog.set_level(logging.WARNING)
    team = (await client.post("/teams/", json={"name": "t", "headquarters": "hq"})).json()
    hero = (
        await client.post(
            "/heroes/", json={"name": "h", "secret_name": "s", "team_id": team["id"]}
        )
    ).json()

    statuses: dict[str, Counter[int]] = {}
    for path in [f"/heroes/{hero['id']}", "/heroes/", "/teams/", f"/teams/{team['id']}"]:
        await app_db.fill_pool()
        assert await app_db.drop_connections(db) == POOL
        statuses[path] = Counter(
            [(await client.get(path)).status_code for _ in range(POOL + 1)]
        )

    assert statuses == {path: {200: POOL + 1} for path in statuses}
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
