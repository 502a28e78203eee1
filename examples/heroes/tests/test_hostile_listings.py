"""Nested and audit listings are bounded: /transfers/, /heroes/{id}/items,
/teams/{id}/roster and GET /teams/{id} return at most LISTING_MAX rows per request,
whatever state a client built with the bulk endpoints; offset reaches the rest."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from heroes.api.limits import LISTING_MAX
from heroes.models import Hero, Item, TransferLog

from sqlmodel_async import Database

MANY = 250


async def _team_of_many(db: Database, make_team: Any) -> tuple[int, list[int]]:
    """A team of MANY heroes, the first with MANY items and MANY transfer log entries."""
    team = (await make_team("Crowd"))["id"]
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(Hero.__table__), [  # type: ignore[arg-type]
            {"name": f"hero {i:04d}", "secret_name": "s", "team_id": team, "power_level": 1.0}
            for i in range(MANY)
        ])
        ids = list((await connection.execute(
            sa.select(Hero.__table__.c.id).order_by(Hero.__table__.c.id)  # type: ignore[attr-defined]
        )).scalars())
        await connection.execute(sa.insert(Item.__table__), [  # type: ignore[arg-type]
            {"name": f"item {i:04d}", "hero_id": ids[0]} for i in range(MANY)
        ])
        await connection.execute(sa.insert(TransferLog.__table__), [  # type: ignore[arg-type]
            {"hero_id": ids[0], "from_team_id": None, "to_team_id": team} for _ in range(MANY)
        ])
    return team, ids


async def _walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[Any]:
    """Every page of `path` (offset/limit), each at most LISTING_MAX long."""
    seen: list[Any] = []
    while True:
        page = (await client.get(path, params={**params, "offset": len(seen)})).json()
        assert len(page) <= LISTING_MAX
        seen += page
        if len(page) < LISTING_MAX:
            return seen


async def test_listings_are_bounded_and_paginated(
    db: Database, client: httpx.AsyncClient, make_team: Any
) -> None:
    team, ids = await _team_of_many(db, make_team)

    transfers = await client.get("/transfers/")
    assert transfers.status_code == 200 and len(transfers.json()) == LISTING_MAX
    walked = await _walk(client, "/transfers/", hero_id=ids[0])
    assert len(walked) == MANY and len({entry["id"] for entry in walked}) == MANY

    items = await client.get(f"/heroes/{ids[0]}/items")
    assert [item["name"] for item in items.json()] == [f"item {i:04d}" for i in range(100)]
    assert len(await _walk(client, f"/heroes/{ids[0]}/items")) == MANY

    detail = (await client.get(f"/teams/{team}")).json()
    assert set(detail) == {"id", "name", "headquarters", "heroes"}  # the tutorial's shape
    assert [hero["id"] for hero in detail["heroes"]] == ids[:LISTING_MAX]
    later = (await client.get(f"/teams/{team}", params={"heroes_offset": 200})).json()
    assert [hero["id"] for hero in later["heroes"]] == ids[200:]

    roster = (await client.get(f"/teams/{team}/roster")).json()
    assert [hero["id"] for hero in roster["heroes"]] == ids[:LISTING_MAX]
    assert len(roster["heroes"][0]["items"]) == LISTING_MAX  # the first 100 of 250
    assert all(hero["items"] == [] for hero in roster["heroes"][1:])
    page = (await client.get(
        f"/teams/{team}/roster", params={"heroes_offset": 240, "heroes_limit": 5}
    )).json()
    assert [hero["id"] for hero in page["heroes"]] == ids[240:245]


@pytest.mark.parametrize(
    "path",
    ["/transfers/?limit=101", "/heroes/1/items?limit=101", "/teams/1?heroes_limit=101",
     "/teams/1/roster?heroes_limit=101", "/transfers/?offset=-1"],
)
async def test_over_the_maximum_is_422(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 422


async def test_small_listings_are_unchanged(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    team = await make_team("Preventers")
    hero = await make_hero("Rusty-Man", team_id=team["id"])
    await client.post(f"/heroes/{hero['id']}/items", json={"name": "Shield"})
    detail = (await client.get(f"/teams/{team['id']}")).json()
    assert detail == {**team, "heroes": [hero]}
    roster = (await client.get(f"/teams/{team['id']}/roster")).json()
    assert roster["heroes"][0]["items"][0]["name"] == "Shield"
    assert (await client.get("/teams/4242")).status_code == 404
