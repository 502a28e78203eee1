"""Fixtures for the Heroes service: the app on the current backend (sqlite, postgresql,
mariadb: the root conftest's `databases`), emptied after each test, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import heroes.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import httpx
import pytest
from fastapi import FastAPI
from heroes.api import create_app
from sqlmodel import SQLModel

from sqlmodel_async import Database


@pytest.fixture
async def db(databases: Any) -> AsyncIterator[Database]:
    """The service's tables on the current backend, empty for each test."""
    database: Database = await databases.open(SQLModel.metadata)
    yield database
    await databases.empty(database)


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
