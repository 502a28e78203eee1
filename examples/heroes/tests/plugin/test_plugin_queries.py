"""N+1 guards on the read endpoints with the plugin's `assert_max_queries`: the number of
statements stays the same whatever the number of rows."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from heroes.models import Hero, Team
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async.testing import QueryLog

MaxQueries = Callable[[int], AbstractContextManager[QueryLog]]


async def add_team_with_heroes(session: AsyncSession, count: int) -> Team:
    team = Team(name="Preventers", headquarters="Sharp Tower")
    session.add_all(
        [Hero(name=f"hero {n}", secret_name=f"secret {n}", team=team) for n in range(count)]
    )
    await session.commit()
    session.expunge_all()  # the app must load them itself, not find them in this session
    return team


async def test_a_team_with_its_heroes_is_two_queries(
    client: httpx.AsyncClient, session: AsyncSession, assert_max_queries: MaxQueries
) -> None:
    team = await add_team_with_heroes(session, 5)
    with assert_max_queries(2) as log:
        response = await client.get(f"/teams/{team.id}")
    assert response.status_code == 200
    assert [hero["name"] for hero in response.json()["heroes"]] == [
        f"hero {n}" for n in range(5)
    ]
    assert len(log) == 2  # the team, then its heroes (selectin), not one per hero


async def test_a_hero_with_its_team_is_at_most_two_queries(
    client: httpx.AsyncClient, session: AsyncSession, assert_max_queries: MaxQueries
) -> None:
    team = await add_team_with_heroes(session, 1)
    with assert_max_queries(2):
        response = await client.get(f"/heroes/{team.heroes[0].id}")
    assert response.json()["team"]["name"] == "Preventers"


async def test_a_page_of_heroes_is_one_query(
    client: httpx.AsyncClient, session: AsyncSession, assert_max_queries: MaxQueries
) -> None:
    await add_team_with_heroes(session, 30)
    with assert_max_queries(1) as log:
        response = await client.get("/heroes/", params={"limit": 100})
    assert len(response.json()) == 30
    assert log.statements[0].upper().startswith("SELECT")
