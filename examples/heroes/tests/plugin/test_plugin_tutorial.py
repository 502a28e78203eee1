"""The SQLModel tutorial's flows on the Heroes API, through the plugin's `client`."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from heroes.models import Hero, Team
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, Repository
from sqlmodel_async.fastapi import get_session


async def create_team(client: httpx.AsyncClient, name: str = "Preventers") -> int:
    response = await client.post("/teams/", json={"name": name, "headquarters": "Sharp Tower"})
    assert response.status_code == 200, response.text
    team_id: int = response.json()["id"]
    return team_id


async def test_the_plugins_fixtures_are_the_ones_used(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, app: FastAPI, database: Database
) -> None:
    # Not the harness of ../conftest.py (db, databases, its own client): the plugin's client
    # swaps the session dependency and publishes the plugin's database on the app.
    assert "db" not in request.fixturenames and "databases" not in request.fixturenames
    assert {"database", "session", "session_dependencies"} <= set(request.fixturenames)
    assert get_session in app.dependency_overrides
    assert app.state.database is database
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport) and transport.app is app


async def test_create_team(client: httpx.AsyncClient, session: AsyncSession) -> None:
    team_id = await create_team(client)
    team = await Repository(Team, session).get_one(team_id)
    assert (team.name, team.headquarters) == ("Preventers", "Sharp Tower")


async def test_create_hero_with_team_and_read_it_back(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    team_id = await create_team(client)
    body = {"name": "Deadpond", "secret_name": "Dive Wilson", "team_id": team_id}
    created = await client.post("/heroes/", json=body)
    assert created.status_code == 200, created.text
    hero_id = created.json()["id"]

    read = await client.get(f"/heroes/{hero_id}")
    assert read.status_code == 200
    assert read.json() == {
        "id": hero_id,
        "name": "Deadpond",
        "secret_name": "Dive Wilson",
        "age": None,
        "team_id": team_id,
        "power_level": 50.0,
        "team": {"id": team_id, "name": "Preventers", "headquarters": "Sharp Tower"},
    }
    # The app committed through the test's transaction: the test's session sees the row.
    hero = await Repository(Hero, session).get_one(hero_id, load=[Hero.team])
    assert hero.team is not None and hero.team.name == "Preventers"


async def test_patch_hero(client: httpx.AsyncClient, session: AsyncSession) -> None:
    created = await client.post("/heroes/", json={"name": "Rusty-Man", "secret_name": "Tommy"})
    hero_id = created.json()["id"]

    patched = await client.patch(f"/heroes/{hero_id}", json={"age": 48})
    assert patched.status_code == 200
    assert (patched.json()["age"], patched.json()["secret_name"]) == (48, "Tommy")
    assert (await client.get(f"/heroes/{hero_id}")).json()["age"] == 48
    session.expunge_all()
    assert (await Repository(Hero, session).get_one(hero_id)).age == 48


async def test_delete_hero(client: httpx.AsyncClient, session: AsyncSession) -> None:
    created = await client.post("/heroes/", json={"name": "Spider-Boy", "secret_name": "Pedro"})
    hero_id = created.json()["id"]

    assert (await client.delete(f"/heroes/{hero_id}")).json() == {"ok": True}
    assert (await client.get(f"/heroes/{hero_id}")).status_code == 404
    assert (await client.delete(f"/heroes/{hero_id}")).status_code == 404
    assert await Repository(Hero, session).get(hero_id) is None


async def test_rows_the_test_adds_are_served_by_the_api(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    team = Team(name="Z-Force", headquarters="Sister Margaret's Bar")
    session.add(Hero(name="Black Lion", secret_name="Trevor", team=team))
    await session.commit()

    listed = await client.get("/heroes/")
    assert [hero["name"] for hero in listed.json()] == ["Black Lion"]
    fetched = await client.get(f"/teams/{team.id}")
    assert [hero["name"] for hero in fetched.json()["heroes"]] == ["Black Lion"]


async def test_a_duplicate_is_a_409_and_the_test_goes_on(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = {"name": "Deadpond", "secret_name": "Dive Wilson"}
    assert (await client.post("/heroes/", json=body)).status_code == 200
    duplicate = await client.post("/heroes/", json=body)
    assert duplicate.status_code == 409
    assert "detail" in duplicate.json()
    assert await Repository(Hero, session).count() == 1


async def test_the_new_hero_notification_runs_after_the_response(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    notifier = app.state.notifier
    assert list(notifier.sent) == []
    created = await client.post("/heroes/", json={"name": "Tarantula", "secret_name": "Natalia"})
    assert created.status_code == 200
    # The background task opened its own session from the Database: under the plugin it
    # joined the test's transaction, so it found the hero the request created.
    assert list(notifier.sent) == ["New hero: Tarantula"]
