"""POST /teams/{team_id}/move-heroes?to=ID: one set-based UPDATE, atomic, safe under
concurrent moves; and DELETE /teams/{id} still leaves the heroes, teamless."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import sqlalchemy as sa
from heroes.models import Hero

from sqlmodel_async import Database


async def _team_ids(db: Database) -> dict[str, int | None]:
    async with db.engine.connect() as connection:
        table = Hero.__table__  # type: ignore[attr-defined]
        rows = await connection.execute(sa.select(table.c.name, table.c.team_id))
        return {name: team_id for name, team_id in rows}


async def test_moves_every_hero_of_the_team(
    db: Database, client: httpx.AsyncClient, make_hero: Any, make_team: Any
) -> None:
    a, b, c = [(await make_team(name))["id"] for name in "abc"]
    for n in range(3):
        await make_hero(f"a{n}", team_id=a)
    await make_hero("c0", team_id=c)
    await make_hero("free")
    response = await client.post(f"/teams/{a}/move-heroes", params={"to": b})
    assert response.status_code == 200, response.text
    assert response.json() == {"moved": 3}
    assert await _team_ids(db) == {"a0": b, "a1": b, "a2": b, "c0": c, "free": None}
    again = await client.post(f"/teams/{a}/move-heroes", params={"to": b})
    assert again.json() == {"moved": 0}
    # the heroes' versions moved on: a PATCH of one still works and reads back right
    hero = (await client.get("/heroes/", params={"limit": 1})).json()[0]
    assert (await client.patch(f"/heroes/{hero['id']}", json={"age": 5})).status_code == 200


async def test_unknown_teams_are_404_and_422_and_change_nothing(
    db: Database, client: httpx.AsyncClient, make_hero: Any, make_team: Any
) -> None:
    a = (await make_team("a"))["id"]
    await make_hero("a0", team_id=a)
    missing = await client.post("/teams/999999/move-heroes", params={"to": a})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Team not found"}
    unknown = await client.post(f"/teams/{a}/move-heroes", params={"to": 999999})
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["detail"][0]["loc"] == ["query", "to"]
    no_target = await client.post(f"/teams/{a}/move-heroes")
    assert no_target.status_code == 422
    assert await _team_ids(db) == {"a0": a}


async def test_concurrent_moves_never_split_or_lose_a_hero(
    db: Database, client: httpx.AsyncClient, make_hero: Any, make_team: Any
) -> None:
    """20 concurrent moves back and forth between two teams: every move answers 200 (a
    deadlock is retried), and each hero ends on exactly one of the two teams, all of them
    together (one UPDATE moves the whole team)."""
    a, b = [(await make_team(name))["id"] for name in "ab"]
    for n in range(6):
        await make_hero(f"h{n}", team_id=a if n % 2 else b)

    async def move(source: int, target: int) -> httpx.Response:
        return await client.post(f"/teams/{source}/move-heroes", params={"to": target})

    work = [move(a, b) if n % 2 else move(b, a) for n in range(20)]
    responses = await asyncio.wait_for(asyncio.gather(*work), 120)
    assert Counter(r.status_code for r in responses) == {200: 20}, [r.text for r in responses]
    placed = await _team_ids(db)
    assert len(placed) == 6
    # the first move merged the teams; every later one moved all six at once
    assert len(set(placed.values())) == 1 and set(placed.values()) <= {a, b}
    assert {r.json()["moved"] for r in responses} <= {0, 3, 6}


async def test_deleting_a_team_keeps_its_heroes_teamless(
    db: Database, client: httpx.AsyncClient, make_hero: Any, make_team: Any
) -> None:
    a = (await make_team("a"))["id"]
    hero = await make_hero("h", team_id=a)
    assert (await client.delete(f"/teams/{a}")).json() == {"ok": True}
    assert (await client.get(f"/heroes/{hero['id']}")).json()["team_id"] is None
    assert (await client.delete(f"/teams/{a}")).status_code == 404
