"""Commits inside a test are rolled back before the next: two tests, run in file order."""

from __future__ import annotations

import httpx
from heroes.models import Hero, Team
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, Repository


async def test_1_commits_through_the_api_the_session_and_the_database(
    client: httpx.AsyncClient, session: AsyncSession, database: Database
) -> None:
    response = await client.post("/teams/", json={"name": "Preventers", "headquarters": "HQ"})
    assert response.status_code == 200
    session.add(Hero(name="Deadpond", secret_name="Dive Wilson"))
    await session.commit()
    async with database.transaction() as own:
        own.add(Hero(name="Rusty-Man", secret_name="Tommy Sharp"))

    assert await Repository(Team, session).count() == 1
    assert await Repository(Hero, session).count() == 2
    assert len((await client.get("/heroes/")).json()) == 2


async def test_2_the_next_test_sees_none_of_it(
    client: httpx.AsyncClient, session: AsyncSession, database: Database
) -> None:
    assert await Repository(Team, session).count() == 0
    assert await Repository(Hero, session).count() == 0
    assert (await client.get("/heroes/")).json() == []
    async with database.session() as own:
        assert await Repository(Hero, own).count() == 0
    # The names are free again: the unique constraint does not see the rolled-back rows.
    again = await client.post("/heroes/", json={"name": "Deadpond", "secret_name": "Dive"})
    assert again.status_code == 200
