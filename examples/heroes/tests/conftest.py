"""Fixtures for the Heroes service: the app on each backend (SQLite, PostgreSQL, MariaDB),
emptied after each test, and an HTTP client.

The servers are TEST_POSTGRESQL_URL and TEST_MARIADB_URL (default: database `test` on
127.0.0.1); one that cannot be reached is skipped locally and fails in CI (CI=true), so
nothing is skipped silently there. The plugin-based tests in plugin/ use the library's
pytest plugin (`sqlmodel_async.testing`) instead, as a user's app would.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import heroes.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import httpx
import pytest
from fastapi import FastAPI
from heroes.api import create_app
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from sqlmodel_async import Database

SERVER_URLS = {
    "postgresql": os.environ.get(
        "TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/test"),
}
#: In CI every backend must run: an unreachable one fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_reachable(name: str, url: str) -> None:
    """Skip (fail in CI) when the server of `url` does not accept connections."""
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 0), timeout=2):
            return
    except OSError:
        message = f"{name} is not reachable at {parsed.render_as_string()}"
    if IN_CI:
        pytest.fail(message + " (CI runs every backend)")
    pytest.skip(message)


@pytest.fixture(scope="session", params=["sqlite", "postgresql", "mariadb"])
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of one backend; tests that use it run once per backend."""
    name: str = request.param
    if name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('heroes') / 'heroes.db'}"
    require_reachable(name, SERVER_URLS[name])
    return SERVER_URLS[name]


@pytest.fixture(params=sorted(SERVER_URLS))
def server_url(request: pytest.FixtureRequest) -> str:
    """The URL of one database server (PostgreSQL, MariaDB), reachable."""
    name: str = request.param
    require_reachable(name, SERVER_URLS[name])
    return SERVER_URLS[name]


@pytest.fixture(scope="session")
async def heroes_database(backend_url: str) -> AsyncIterator[Database]:
    """The service's tables, made anew on the current backend once per run."""
    database = Database(backend_url, metadata=SQLModel.metadata)
    await database.drop_all()
    await database.create_all()
    yield database
    await database.dispose()


@pytest.fixture
async def db(heroes_database: Database) -> AsyncIterator[Database]:
    """The service's tables on the current backend, empty for each test."""
    yield heroes_database
    async with heroes_database.engine.begin() as connection:
        for table in reversed(heroes_database.metadata.sorted_tables):
            await connection.execute(delete(table))


@pytest.fixture
def app(db: Database) -> FastAPI:
    return create_app(database=db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://heroes.test") as client:
        yield client


@pytest.fixture
def make_hero(client: httpx.AsyncClient) -> Any:
    """POST a hero and return its JSON (defaults fill the required fields)."""

    async def make(name: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, "secret_name": f"{name} secret", **fields}
        response = await client.post("/heroes/", json=body)
        assert response.status_code == 200, response.text
        created: dict[str, Any] = response.json()
        return created

    return make


@pytest.fixture
def make_team(client: httpx.AsyncClient) -> Any:
    async def make(name: str, headquarters: str = "HQ") -> dict[str, Any]:
        response = await client.post("/teams/", json={"name": name, "headquarters": headquarters})
        assert response.status_code == 200, response.text
        created: dict[str, Any] = response.json()
        return created

    return make
