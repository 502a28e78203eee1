"""The fast read path: the read endpoints build their schemas straight from rows
and serialise them once. Their bodies are byte for byte what the ORM path (ORM objects
validated through the response model, as FastAPI does) gives, on every backend, and their
OpenAPI description has not changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from heroes.models import (
    Hero,
    HeroPublic,
    HeroPublicWithTeam,
    Team,
    TeamPublic,
    TeamPublicWithHeroes,
)
from pydantic import TypeAdapter

from sqlmodel_async import Database, Repository

#: The read operations' OpenAPI, saved from the app before the read path changed.
SNAPSHOT = Path(__file__).with_name("openapi_reads.json")
#: The whole document, saved from the app as it was before its routers were included.
FULL_SNAPSHOT = Path(__file__).with_name("openapi.json")
READ_PATHS = ("/heroes/", "/heroes/{hero_id}", "/teams/", "/teams/{team_id}")


def read_operations(openapi: dict[str, Any]) -> dict[str, Any]:
    """The GET operations of the read paths and every schema they refer to."""
    paths = {path: openapi["paths"][path]["get"] for path in READ_PATHS}
    schemas = openapi["components"]["schemas"]
    wanted: dict[str, Any] = {}
    pending = [paths]
    while pending:
        for ref in _refs(pending.pop()):
            name = ref.rsplit("/", 1)[-1]
            if name not in wanted:
                wanted[name] = schemas[name]
                pending.append(schemas[name])
    return {"paths": paths, "schemas": wanted}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def orm_body(schema: Any, value: Any) -> bytes:
    """What FastAPI sends for `value` (ORM objects) under `response_model=schema`: validated
    from attributes, then dumped to JSON by the response model's adapter."""
    adapter = TypeAdapter(schema)
    return adapter.dump_json(adapter.validate_python(value, from_attributes=True), by_alias=True)


async def seed(client: httpx.AsyncClient) -> dict[str, list[int]]:
    teams = []
    for name in ("Preventers", "Z-Force", "Empty"):
        response = await client.post("/teams/", json={"name": name, "headquarters": f"{name} HQ"})
        teams.append(response.json()["id"])
    heroes = []
    for n in range(12):
        body = {
            "name": f"Hero {n} ✓",  # non-ASCII goes out as UTF-8, not \\u escapes
            "secret_name": f"Secret \"{n}\"",
            "age": 20 + n if n % 3 else None,
            "power_level": [50.0, 95.3, 1e-7, 12345678.9][n % 4],
            "team_id": teams[n % 2] if n < 9 else None,
        }
        response = await client.post("/heroes/", json=body)
        assert response.status_code == 200, response.text
        heroes.append(response.json()["id"])
    return {"teams": teams, "heroes": heroes}


async def test_read_bodies_equal_the_orm_path(client: httpx.AsyncClient, db: Database) -> None:
    ids = await seed(client)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        teams = Repository(Team, session)
        checks: list[tuple[str, bytes]] = []
        for hero_id in ids["heroes"]:
            hero = await heroes.get_one(hero_id, load=[Hero.team])
            checks.append((f"/heroes/{hero_id}", orm_body(HeroPublicWithTeam, hero)))
        for offset, limit in ((0, 100), (3, 4), (11, 100), (50, 10), (0, 0)):
            listed = await heroes.list(offset=offset, limit=limit)
            checks.append(
                (f"/heroes/?offset={offset}&limit={limit}", orm_body(list[HeroPublic], listed))
            )
            listed_teams = await teams.list(offset=offset, limit=limit)
            checks.append(
                (f"/teams/?offset={offset}&limit={limit}", orm_body(list[TeamPublic], listed_teams))
            )
        for team_id in ids["teams"]:  # two with heroes, one with none
            team = await teams.get_one(team_id, load=[Team.heroes])
            checks.append((f"/teams/{team_id}", orm_body(TeamPublicWithHeroes, team)))
        checks.append(("/heroes/", orm_body(list[HeroPublic], await heroes.list(limit=100))))
    for url, expected in checks:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.text)
        assert response.content == expected, url
        assert response.headers["content-type"] == "application/json"
    # the bodies are not trivially equal: teams, nulls, many heroes
    assert b'"team":null' in (await client.get(f"/heroes/{ids['heroes'][-1]}")).content
    team = (await client.get(f"/teams/{ids['teams'][0]}")).json()
    assert len(team["heroes"]) >= 4


async def test_not_found_and_bad_ids_unchanged(client: httpx.AsyncClient) -> None:
    assert (await client.get("/heroes/999999")).json() == {"detail": "Hero not found"}
    assert (await client.get("/teams/999999")).json() == {"detail": "Team not found"}
    assert (await client.get("/heroes/99999999999")).status_code == 422
    assert (await client.get("/heroes/?limit=101")).status_code == 422


def test_openapi_of_the_read_endpoints_is_unchanged(app: FastAPI) -> None:
    saved = json.loads(SNAPSHOT.read_text())
    assert read_operations(app.openapi()) == saved


def test_the_whole_openapi_document_is_unchanged(app: FastAPI) -> None:
    """The whole document, byte for byte once encoded (paths and schemas in the same order
    too), as saved before the routers were included with `include_router()`."""
    saved = json.loads(FULL_SNAPSHOT.read_text())
    assert json.dumps(app.openapi()) == json.dumps(saved)
