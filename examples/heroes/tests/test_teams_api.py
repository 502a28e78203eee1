"""Teams: the SQLModel tutorial's contract, on every backend."""

from __future__ import annotations

from typing import Any

import httpx

TEAM_NOT_FOUND = {"detail": "Team not found"}


async def test_create_and_list_teams(client: httpx.AsyncClient, make_team: Any) -> None:
    response = await client.post("/teams/", json={"name": "Preventers", "headquarters": "Tower"})
    assert response.status_code == 200
    first = response.json()
    assert first == {"id": first["id"], "name": "Preventers", "headquarters": "Tower"}
    second = await make_team("Z-Force", "Sister Margaret's Bar")
    listed = (await client.get("/teams/")).json()
    assert listed == sorted([first, second], key=lambda team: team["id"])
    page = (await client.get("/teams/", params={"offset": 1, "limit": 1})).json()
    assert page == listed[1:]
    assert (await client.get("/teams/", params={"limit": 101})).status_code == 422
    assert (await client.get("/teams/", params={"offset": -1})).status_code == 422


async def test_invalid_team_bodies_are_422(client: httpx.AsyncClient) -> None:
    assert (await client.post("/teams/", json={"name": "No HQ"})).status_code == 422
    assert (await client.post("/teams/", json={"name": 1, "headquarters": []})).status_code == 422
    assert (await client.get("/teams/")).json() == []


async def test_read_team_with_heroes(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    team = await make_team("Preventers", "Sharp Tower")
    members = [await make_hero(name, team_id=team["id"]) for name in ("Rusty-Man", "Tarantula")]
    await make_hero("Deadpond")
    response = await client.get(f"/teams/{team['id']}")
    assert response.status_code == 200
    assert response.json() == {**team, "heroes": members}
    empty = await make_team("Empty")
    assert (await client.get(f"/teams/{empty['id']}")).json() == {**empty, "heroes": []}


async def test_unknown_and_invalid_team_ids(client: httpx.AsyncClient) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        body = {"json": {"headquarters": "x"}} if method == "PATCH" else {}
        missing = await client.request(method, "/teams/424242", **body)  # type: ignore[arg-type]
        assert missing.status_code == 404 and missing.json() == TEAM_NOT_FOUND
        for bad in ("abc", str(2**31), str(2**80)):
            response = await client.request(method, f"/teams/{bad}", **body)  # type: ignore[arg-type]
            assert response.status_code == 422, (method, bad)


async def test_patch_team(client: httpx.AsyncClient, make_team: Any) -> None:
    team = await make_team("Preventers", "Sharp Tower")
    response = await client.patch(f"/teams/{team['id']}", json={"headquarters": "Moon"})
    assert response.status_code == 200
    assert response.json() == {**team, "headquarters": "Moon"}
    refused = await client.patch(f"/teams/{team['id']}", json={"name": None})
    assert refused.status_code == 422
    assert any("name" in error["loc"] for error in refused.json()["detail"])
    assert (await client.get(f"/teams/{team['id']}")).json()["name"] == "Preventers"


async def test_delete_team_keeps_its_heroes_teamless(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    team = await make_team("Z-Force")
    other = await make_team("Preventers")
    member = await make_hero("Black Lion", team_id=team["id"])
    outsider = await make_hero("Rusty-Man", team_id=other["id"])
    response = await client.delete(f"/teams/{team['id']}")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert (await client.get(f"/teams/{team['id']}")).json() == TEAM_NOT_FOUND
    kept = (await client.get(f"/heroes/{member['id']}")).json()
    assert kept == {**member, "team_id": None, "team": None}
    assert (await client.get(f"/heroes/{outsider['id']}")).json()["team_id"] == other["id"]
    again = await client.delete(f"/teams/{team['id']}")
    assert again.status_code == 404 and again.json() == TEAM_NOT_FOUND
