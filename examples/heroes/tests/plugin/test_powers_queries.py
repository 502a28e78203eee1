"""N+1 guards on the powers endpoints with the plugin's `assert_max_queries`: the number of
statements stays the same whatever the number of heroes and powers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from heroes.models import Hero, HeroPowerLink, Power, Team
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async.testing import QueryLog

MaxQueries = Callable[[int], AbstractContextManager[QueryLog]]


async def add_heroes_with_powers(session: AsyncSession, heroes: int, powers: int) -> Team:
    team = Team(name="Preventers", headquarters="Sharp Tower")
    made = [Hero(name=f"hero {n}", secret_name=f"secret {n}", team=team) for n in range(heroes)]
    kinds = [Power(name=f"power {n}") for n in range(powers)]
    session.add_all([*made, *kinds])
    await session.flush()
    session.add_all([
        HeroPowerLink(hero_id=hero.id, power_id=power.id, level=n)
        for hero in made for n, power in enumerate(kinds)
    ])
    await session.commit()
    session.expunge_all()
    return team


async def test_a_power_with_its_heroes_is_two_queries(
    client: httpx.AsyncClient, session: AsyncSession, assert_max_queries: MaxQueries
) -> None:
    await add_heroes_with_powers(session, 8, 3)
    power = (await client.get("/powers/")).json()[0]
    with assert_max_queries(2):
        response = await client.get(f"/powers/{power['id']}")
    assert len(response.json()["heroes"]) == 8


async def test_a_heros_powers_are_one_query(
    client: httpx.AsyncClient, session: AsyncSession, assert_max_queries: MaxQueries
) -> None:
    await add_heroes_with_powers(session, 1, 10)
    hero = (await client.get("/heroes/")).json()[0]
    with assert_max_queries(1):
        response = await client.get(f"/heroes/{hero['id']}/powers")
    assert [link["level"] for link in response.json()] == list(range(10))
    links = [{"power_id": link["power"]["id"], "level": 1} for link in response.json()]
    # lock the hero, check the powers, delete, insert: then the answer's one read
    with assert_max_queries(5):
        replaced = await client.put(f"/heroes/{hero['id']}/powers", json=links)
    assert len(replaced.json()) == 10
