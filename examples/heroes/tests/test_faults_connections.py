"""Fault suite 2 and 4 over HTTP: every server connection of the service killed during a
mixed read/write load, and an exhausted pool. Answers are 200 or 503 (with Retry-After),
never a 500 or a hang; the service recovers by itself; no acknowledged write is lost."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from heroes.api import create_app

from sqlmodel_async import Database

APP_NAME = "heroes-fault-suite"  # the service's connections, and only them, get killed
WORKERS = 8
ROUNDS = 12  # per worker; each round is 4 requests
KILL_AFTER = (60, 200)  # kill every service connection after this many requests


@dataclass
class Load:
    """What the clients sent and what the service acknowledged."""

    statuses: Counter[int] = field(default_factory=Counter)
    missing_retry_after: int = 0
    created: dict[int, str] = field(default_factory=dict)  # acknowledged hero id -> name
    transfers_acked: Counter[int] = field(default_factory=Counter)  # hero id -> count
    transfers_sent: Counter[int] = field(default_factory=Counter)
    sent: int = 0

    def record(self, response: httpx.Response) -> None:
        self.sent += 1
        self.statuses[response.status_code] += 1
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.missing_retry_after += 1


async def _kill_service_connections(db: Database) -> int:
    async with db.engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE application_name = '{APP_NAME}'"
        )
        killed = int(result.scalar_one())
        await connection.commit()
    return killed


@pytest.fixture
async def service(db: Database) -> AsyncIterator[tuple[Database, httpx.AsyncClient]]:
    """The service under uvicorn on a free loopback port, on its own Database whose
    connections carry APP_NAME. A real server, so that a background task failing after its
    response is what it is in production: a log line, not an error in the client."""
    if db.backend.name != "postgresql":
        pytest.skip("pg_terminate_backend: PostgreSQL")
    service_db = Database(
        db.engine.url,
        pool_size=5,
        connect_args={"server_settings": {"application_name": APP_NAME}},
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(database=service_db),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",  # the suite's database holds other tables: no migration check
    )
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started, "uvicorn did not start"
        # One connection per request: uvicorn closes a keep-alive connection after an error
        # in a background task, which would fail the next request sent on it.
        no_keepalive = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, limits=no_keepalive
        ) as client:
            yield service_db, client
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
        await service_db.dispose()


async def test_killed_connections_during_mixed_load(
    db: Database,
    service: tuple[Database, httpx.AsyncClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, client = service
    caplog.set_level(logging.WARNING)
    teams = [
        (await client.post("/teams/", json={"name": f"t{i}", "headquarters": "hq"})).json()["id"]
        for i in range(3)
    ]
    load = Load()
    kills: list[int] = []
    pending_kills = list(KILL_AFTER)

    async def maybe_kill() -> None:
        if pending_kills and load.sent >= pending_kills[0]:
            pending_kills.pop(0)
            kills.append(await _kill_service_connections(db))

    async def worker(number: int) -> None:
        for round_ in range(ROUNDS):
            name = f"w{number}-r{round_}"
            created = await client.post("/heroes/", json={"name": name, "secret_name": "s"})
            load.record(created)
            if created.status_code == 200:
                load.created[created.json()["id"]] = name
            await maybe_kill()
            if not load.created:
                continue
            hero_id = list(load.created)[(number * ROUNDS + round_) % len(load.created)]
            load.record(await client.get(f"/heroes/{hero_id}"))
            load.transfers_sent[hero_id] += 1
            moved = await client.post(
                f"/heroes/{hero_id}/transfer", json={"team_id": teams[round_ % 3]}
            )
            load.record(moved)
            if moved.status_code == 200:
                load.transfers_acked[hero_id] += 1
            load.record(await client.get("/heroes/", params={"limit": 20}))
            await maybe_kill()

    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(WORKERS))), 180)

    assert set(load.statuses) <= {200, 503}, load.statuses
    assert load.missing_retry_after == 0
    assert kills and all(killed > 0 for killed in kills)  # connections really were killed

    # Right after: every request succeeds, with no restart of the service.
    after = Counter()
    for hero_id, name in load.created.items():
        response = await client.get(f"/heroes/{hero_id}")
        after[response.status_code] += 1
        assert response.status_code == 200 and response.json()["name"] == name
    assert after == {200: len(load.created)}

    # No acknowledged write is missing: every acknowledged hero exists (checked above) and
    # every acknowledged transfer has its log row (a 503 one may or may not have committed).
    log = (await client.get("/transfers/")).json()
    logged = Counter(row["hero_id"] for row in log)
    lost = sum(max(0, acked - logged[h]) for h, acked in load.transfers_acked.items())
    assert lost == 0
    for hero_id, count in logged.items():
        assert count <= load.transfers_sent[hero_id]
    retries = sum(1 for r in caplog.records if r.name == "sqlmodel_async.retry")
    background_failures = sum(
        1 for r in caplog.records if "Exception in ASGI application" in r.getMessage()
    )
    print(
        f"\nkill suite: {load.sent} requests, {sum(kills)} connections killed in "
        f"{len(kills)} rounds, {load.statuses[503]} answered 503, {retries} transfer "
        f"retries, {len(load.created)} heroes and {sum(load.transfers_acked.values())} "
        f"transfers acknowledged, {lost} lost; {len(load.created)} requests right after, "
        f"all 200; {background_failures} background tasks failed after their response"
    )


async def test_exhausted_pool_answers_503_and_never_hangs(db: Database) -> None:
    if db.is_memory_sqlite:
        pytest.skip("in-memory SQLite has a static pool")
    service_db = Database(db.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    transport = httpx.ASGITransport(app=create_app(database=service_db))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://heroes.test") as client:
            async with service_db.engine.connect() as holder:
                await holder.exec_driver_sql("SELECT 1")  # the pool's only connection
                busy: list[Any] = await asyncio.wait_for(
                    asyncio.gather(
                        *(client.get("/heroes/") for _ in range(10)),
                        client.post("/heroes/", json={"name": "x", "secret_name": "s"}),
                        client.get("/ready"),
                    ),
                    60,
                )
                health = await client.get("/health")
            assert [r.status_code for r in busy] == [503] * len(busy)
            assert all(r.headers.get("retry-after") for r in busy)
            assert health.status_code == 200  # the process stays up
            recovered = await client.get("/heroes/")
            assert recovered.status_code == 200
            assert recovered.json() == []  # the refused POST wrote nothing
    finally:
        await service_db.dispose()
