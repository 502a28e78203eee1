"""A user's test file: an app, its models, and tests that use the sqlmodel-async fixtures.

In a real project the models and the app live in your package and the `app` fixture in
conftest.py; they are in one file here so the example runs as it is. The test suite of
sqlmodel-async runs this file on SQLite, PostgreSQL and MariaDB (tests/test_testing_plugin.py).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlmodel import Field, Relationship, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Repository
from sqlmodel_async.fastapi import SessionDep, add_exception_handlers

MaxQueries = Callable[[int], AbstractContextManager[Any]]


# --- the application (normally imported from your package) --------------------------------


class Team(SQLModel, table=True):
    __tablename__ = "example_team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    heroes: list["Hero"] = Relationship(back_populates="team")


class Hero(SQLModel, table=True):
    __tablename__ = "example_hero"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    team_id: int | None = Field(default=None, foreign_key="example_team.id")
    team: Team | None = Relationship(back_populates="heroes")


class TeamCreate(SQLModel):
    name: str


app = FastAPI()
add_exception_handlers(app)


@app.post("/teams", status_code=201)
async def create_team(data: TeamCreate, session: SessionDep) -> Team:
    team = await Repository(Team, session).create(data)
    await session.commit()  # under the plugin this releases a savepoint; the test rolls back
    return team


@app.get("/teams")
async def list_teams(session: SessionDep) -> list[Team]:
    return await Repository(Team, session).list()


# --- the fixture the plugin needs (normally in conftest.py) --------------------------------


@pytest.fixture(name="app")
def app_fixture() -> FastAPI:
    return app


# --- tests ----------------------------------------------------------------------------------


async def test_a_commit_is_visible_inside_the_test(session: AsyncSession) -> None:
    session.add(Team(name="Preventers"))
    await session.commit()
    assert await Repository(Team, session).count() == 1


async def test_the_next_test_sees_none_of_it(session: AsyncSession) -> None:
    assert await Repository(Team, session).count() == 0
    # The same unique name again: the row of the previous test is gone, not just hidden.
    session.add(Team(name="Preventers"))
    await session.commit()


async def test_the_api_writes_through_the_test_session(
    client: AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/teams", json={"name": "Z-Force"})
    assert response.status_code == 201
    team = await Repository(Team, session).get_one(response.json()["id"])
    assert team.name == "Z-Force"


async def test_a_duplicate_is_a_409_and_the_session_goes_on(
    client: AsyncClient, session: AsyncSession
) -> None:
    assert (await client.post("/teams", json={"name": "Z-Force"})).status_code == 201
    duplicate = await client.post("/teams", json={"name": "Z-Force"})
    assert duplicate.status_code == 409
    assert [team["name"] for team in (await client.get("/teams")).json()] == ["Z-Force"]


async def test_the_api_starts_empty_again(client: AsyncClient) -> None:
    assert (await client.get("/teams")).json() == []


async def test_teams_with_heroes_load_in_two_queries(
    session: AsyncSession, assert_max_queries: MaxQueries
) -> None:
    for number in range(3):
        team = Team(name=f"team {number}")
        session.add_all([team, Hero(name=f"hero {number}", team=team)])
    await session.commit()
    session.expunge_all()
    # One query for the teams and one for all their heroes, however many teams there are.
    with assert_max_queries(2):
        teams = await Repository(Team, session).list(load=[Team.heroes])
    assert sorted(hero.name for team in teams for hero in team.heroes) == [
        "hero 0", "hero 1", "hero 2",
    ]
