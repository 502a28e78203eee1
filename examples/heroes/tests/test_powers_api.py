"""Powers: a many-to-many with a level on the link, over HTTP (the shapes clients rely on)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from heroes.models import HeroPublic, TeamBase

from sqlmodel_async.fastapi import check_response_models


async def make_power(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await client.post("/powers/", json={"name": name})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_powers_are_created_and_listed(client: httpx.AsyncClient) -> None:
    flight = await make_power(client, "flight")
    await make_power(client, "speed")
    assert set(flight) == {"id", "name"}
    duplicate = await client.post("/powers/", json={"name": "flight"})
    assert duplicate.status_code == 409
    listed = (await client.get("/powers/")).json()
    assert [power["name"] for power in listed] == ["flight", "speed"]
    page = (await client.get("/powers/", params={"offset": 1, "limit": 1})).json()
    assert [power["name"] for power in page] == ["speed"]
    assert (await client.get("/powers/", params={"limit": 101})).status_code == 422


async def test_a_heros_powers_are_replaced_atomically(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    hero = await make_hero("Deadpond")
    strength, speed, flight = [
        await make_power(client, name) for name in ("strength", "speed", "flight")
    ]
    path = f"/heroes/{hero['id']}/powers"
    assert (await client.get(path)).json() == []
    body = [{"power_id": flight["id"], "level": 5}, {"power_id": strength["id"], "level": 2}]
    response = await client.put(path, json=body)
    assert response.status_code == 200, response.text
    expected = [{"level": 2, "power": strength}, {"level": 5, "power": flight}]
    assert response.json() == expected  # ordered by power id
    assert (await client.get(path)).json() == expected

    # An unknown power: 422 naming it, and nothing changed.
    unknown = await client.put(path, json=[{"power_id": speed["id"], "level": 1},
                                           {"power_id": 9999, "level": 1}])
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == [{
        "loc": ["body", 1, "power_id"], "msg": "power 9999 does not exist", "type": "foreign_key",
    }]
    assert (await client.get(path)).json() == expected

    # A power twice: counted once, the last level given.
    again = await client.put(path, json=[{"power_id": speed["id"], "level": 1},
                                         {"power_id": speed["id"], "level": 3}])
    assert again.json() == [{"level": 3, "power": speed}]
    assert (await client.put(path, json=[])).json() == []


async def test_unknown_hero_is_404(client: httpx.AsyncClient) -> None:
    power = await make_power(client, "flight")
    for response in (
        await client.get("/heroes/4242/powers"),
        await client.put("/heroes/4242/powers", json=[{"power_id": power["id"], "level": 1}]),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "Hero not found"}
    assert (await client.get("/powers/4242")).json() == {"detail": "Power not found"}
    bad = await client.put("/heroes/1/powers", json=[{"power_id": "x", "level": 1}])
    assert bad.status_code == 422


async def test_a_power_lists_its_heroes_with_levels(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    power = await make_power(client, "flight")
    first = await make_hero("Deadpond")
    second = await make_hero("Rusty-Man")
    for hero, level in ((second, 7), (first, 4)):
        link = {"power_id": power["id"], "level": level}
        await client.put(f"/heroes/{hero['id']}/powers", json=[link])
    response = await client.get(f"/powers/{power['id']}")
    assert response.status_code == 200
    assert response.json() == {
        "name": "flight",
        "id": power["id"],
        "heroes": [{"level": 4, "hero": first}, {"level": 7, "hero": second}],
    }


async def test_a_hero_is_created_with_its_powers(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    flight = await make_power(client, "flight")
    link = {"power_id": flight["id"], "level": 6}
    body = {"name": "Spider-Boy", "secret_name": "Pedro", "powers": [link]}
    created = await client.post("/heroes/", json=body)
    assert created.status_code == 200, created.text
    hero = created.json()
    assert set(hero) == set(HeroPublic.model_fields)  # the response stays HeroPublic
    assert (await client.get(f"/heroes/{hero['id']}/powers")).json() == [
        {"level": 6, "power": flight},
    ]
    plain = await make_hero("Deadpond")  # the tutorial's body, without powers
    assert (await client.get(f"/heroes/{plain['id']}/powers")).json() == []

    refused = await client.post("/heroes/", json={
        "name": "Nobody", "secret_name": "x", "powers": [{"power_id": 777, "level": 1}],
    })
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "powers", 0, "power_id"]
    assert "777" in refused.json()["detail"][0]["msg"]
    names = [hero["name"] for hero in (await client.get("/heroes/")).json()]
    assert names == ["Spider-Boy", "Deadpond"]  # no hero without its powers


async def test_deleting_a_hero_removes_its_links(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    flight = await make_power(client, "flight")
    hero = await make_hero("Deadpond", powers=[{"power_id": flight["id"], "level": 1}])
    assert (await client.delete(f"/heroes/{hero['id']}")).json() == {"ok": True}
    assert (await client.get(f"/powers/{flight['id']}")).json()["heroes"] == []


class TeamWithMascot(TeamBase):
    id: int
    mascot: HeroPublic


def test_a_broken_response_schema_fails_at_boot(app: FastAPI) -> None:
    assert len(check_response_models(app)) >= 9

    async def read() -> None:
        return None

    app.get("/teams/{team_id}/mascot", response_model=TeamWithMascot)(read)
    with pytest.raises(TypeError, match=r"GET /teams/\{team_id\}/mascot: .*TeamWithMascot\.mascot"):
        check_response_models(app)
