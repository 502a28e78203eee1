"""GET /heroes/export against hostile clients: exports that stop reading must not starve
the pool, and an export that fails part-way must be told apart from a complete one."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from heroes.api import create_app
from heroes.models import Hero
from heroes.services import browse
from hostile_server import serve

from sqlmodel_async import Database

APP_NAME = "heroes-hostile-export"
STALLED = 16
HEROES = 3000
#: Long names: each NDJSON line is ~300 bytes, so the export is far larger than what the
#: small socket buffers below plus uvicorn's write buffer hold.
NAME = "x" * 200


async def insert_heroes(db: Database, count: int) -> None:
    rows = [
        {"name": f"{index:05d} {NAME}", "secret_name": NAME, "age": index % 90,
         "power_level": index / 4}
        for index in range(count)
    ]
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(Hero.__table__), rows)  # type: ignore[arg-type]


def _service_database(db: Database) -> Database:
    """A small pool (2, no overflow, 2 s timeout): starving it takes two stalled exports."""
    extra: dict[str, Any] = {}
    if db.backend.name == "postgresql":
        extra["connect_args"] = {"server_settings": {"application_name": APP_NAME}}
    return Database(db.engine.url, pool_size=2, max_overflow=0, pool_timeout=2, **extra)


@pytest.fixture
async def served(db: Database) -> AsyncIterator[tuple[Database, int]]:
    if db.is_memory_sqlite:
        pytest.skip("in-memory SQLite has a static pool")
    service_db = _service_database(db)
    try:
        async with serve(create_app(database=service_db), send_buffer=8192) as port:
            yield service_db, port
    finally:
        await service_db.dispose()


async def _stalled_export(port: int) -> socket.socket:
    """A client that asks for the export, reads the status line and headers, and stops."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(
        sock, b"GET /heroes/export HTTP/1.1\r\nHost: heroes\r\nConnection: close\r\n\r\n"
    )
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 1024), 30)
        assert chunk, "the server closed the connection before the headers"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return sock


async def _read_to_end(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    received = b""
    while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), 30):
        received += chunk
    return received


async def test_stalled_exports_do_not_starve_the_pool(
    db: Database, served: tuple[Database, int]
) -> None:
    _, port = served
    await insert_heroes(db, HEROES)
    stalled = [await _stalled_export(port) for _ in range(STALLED)]
    try:
        await asyncio.sleep(1)  # every export has filled its buffers and is waiting to send
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            started = time.monotonic()
            # A read (Database.reader()), a write (a session), and the readiness check.
            first = (await client.get("/heroes/", params={"limit": 1})).json()[0]["id"]
            hero = await client.get(f"/heroes/{first}")
            team = await client.post("/teams/", json={"name": "t", "headquarters": "hq"})
            ready = await client.get("/ready")
            elapsed = time.monotonic() - started
            print(f"\n{STALLED} stalled exports: GET /heroes/{{id}} {hero.status_code}, "
                  f"POST /teams/ {team.status_code}, /ready {ready.status_code} "
                  f"in {elapsed:.2f} s")
            assert (hero.status_code, team.status_code, ready.status_code) == (200, 200, 200)
            if db.backend.name == "postgresql":
                async with db.engine.connect() as connection:
                    idle = (await connection.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        f"'{APP_NAME}' AND state LIKE 'idle in transaction%'"
                    )).scalar_one()
                assert idle == 0
        # A stalled client that reads again gets the whole export, complete.
        rest = await _read_to_end(stalled.pop())
        assert b'{"complete":true,"count":3000}\n' in rest
    finally:
        for sock in stalled:
            sock.close()


# --- an export that fails part-way ---------------------------------------------------------


async def _export_until_failure(
    app: Any, db: Database, path: str
) -> tuple[bytes, BaseException | None]:
    """The body the app sends for `path`, driven at the ASGI level; after the first chunk
    the hero table is renamed, so the next batch fails. Returns the body and the error
    the app raised (a server closes the connection without the chunked body's end)."""
    chunks: list[bytes] = []
    done = asyncio.Event()
    renamed = False

    async def receive() -> dict[str, Any]:
        if not chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal renamed
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not renamed:
                renamed = True
                await _rename(db, "hero", "hero_gone")

    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"heroes")], "client": ("127.0.0.1", 1), "server": None,
    }
    error: BaseException | None = None
    try:
        await asyncio.wait_for(app(scope, receive, send), 60)
    except Exception as raised:
        error = raised
    finally:
        done.set()
        if renamed:
            await _rename(db, "hero_gone", "hero")
    return b"".join(chunks), error


async def _rename(db: Database, old: str, new: str) -> None:
    async with db.engine.begin() as connection:
        await connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browse, "EXPORT_BATCH", 50)


async def test_failed_ndjson_export_is_marked(db: Database, small_batches: None) -> None:
    await insert_heroes(db, 600)
    body, error = await _export_until_failure(create_app(database=db), db, "/heroes/export")
    lines = [json.loads(line) for line in body.splitlines()]
    assert error is not None  # the server aborts the chunked body
    assert lines[-1]["complete"] is False and "error" in lines[-1]
    heroes = lines[:-1]
    assert 0 < len(heroes) < 600 and lines[-1]["count"] == len(heroes)
    assert [hero["name"] for hero in heroes] == [
        f"{index:05d} {NAME}" for index in range(len(heroes))
    ]


async def test_failed_csv_export_aborts_the_response(db: Database, small_batches: None) -> None:
    await insert_heroes(db, 600)
    body, error = await _export_until_failure(
        create_app(database=db), db, "/heroes/export?format=csv"
    )
    assert error is not None  # no last chunk: HTTP clients report a truncated body
    assert 0 < body.count(b"\r\n") - 1 < 600


async def test_complete_export_says_so_over_http(db: Database, small_batches: None) -> None:
    """Over a real server: complete exports end with the completion line (NDJSON) or
    the chunked body's last chunk (CSV: httpx reads it without an error)."""
    await insert_heroes(db, 120)
    service_db = _service_database(db)
    try:
        async with (
            serve(create_app(database=service_db)) as port,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c,
        ):
            ndjson = (await c.get("/heroes/export")).text.splitlines()
            csv_text = (await c.get("/heroes/export", params={"format": "csv"})).text
    finally:
        await service_db.dispose()
    assert json.loads(ndjson[-1]) == {"complete": True, "count": 120}
    assert len(ndjson) == 121
    assert csv_text.count("\r\n") == 121
