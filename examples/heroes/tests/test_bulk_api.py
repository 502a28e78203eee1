"""POST/PUT/PATCH /heroes/bulk and POST /heroes/bulk-delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from heroes.api import create_app
from heroes.api.bulk import MAX_BODY_BYTES, MAX_ROWS
from heroes.models import Hero
from sqlmodel import select

from sqlmodel_async import Database


@pytest.fixture
def app(db: Database) -> FastAPI:
    return create_app(database=db)


def heroes(n: int, prefix: str = "h") -> list[dict[str, Any]]:
    return [{"name": f"{prefix}{i}", "secret_name": f"s{i}", "age": i} for i in range(n)]


async def stored(db: Database) -> dict[str, Hero]:
    async with db.session() as session:
        return {h.name: h for h in (await session.exec(select(Hero).order_by(Hero.id))).all()}


async def test_bulk_create_returns_ids_in_order(client: httpx.AsyncClient, db: Database) -> None:
    body = heroes(300)
    body[7]["id"] = 999_999  # ignored, as in POST /heroes/
    response = await client.post("/heroes/bulk", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["created"] == 300
    rows = await stored(db)
    assert [rows[row["name"]].id for row in body] == result["ids"]
    assert rows["h7"].id != 999_999
    assert rows["h3"].power_level == 50.0


async def test_bulk_create_is_all_or_nothing(
    client: httpx.AsyncClient, db: Database, make_hero: Any, make_team: Any
) -> None:
    await make_hero("taken")
    for body in (
        [*heroes(5), {"name": "taken", "secret_name": "x"}],
        [*heroes(5), {"name": "h1", "secret_name": "twice"}],
    ):
        response = await client.post("/heroes/bulk", json=body)
        assert response.status_code == 409, response.text
    response = await client.post(
        "/heroes/bulk", json=[*heroes(3), {"name": "z", "secret_name": "z", "team_id": 12345}]
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "team_id"
    assert list(await stored(db)) == ["taken"]


async def test_bulk_create_refuses_bad_and_oversized_input(
    client: httpx.AsyncClient, db: Database
) -> None:
    for body in (
        [{"name": "a"}],
        [{"name": "a", "secret_name": "b", "age": "old"}],
        {"name": "a", "secret_name": "b"},
        heroes(MAX_ROWS + 1),
    ):
        response = await client.post("/heroes/bulk", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["detail"]
    response = await client.post(
        "/heroes/bulk", content=b"[" + b" " * MAX_BODY_BYTES + b"]",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413 and response.json()["detail"]
    assert await stored(db) == {}


async def test_bulk_upsert_on_name(client: httpx.AsyncClient, db: Database, make_hero: Any) -> None:
    await make_hero("old", age=1, power_level=70.0)
    body = [
        {"name": "old", "secret_name": "first"},
        {"name": "new", "secret_name": "n", "age": 5},
        {"name": "old", "secret_name": "last", "age": 9},  # the last row for a name wins
    ]
    response = await client.put("/heroes/bulk", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"upserted": 2}
    rows = await stored(db)
    assert (rows["old"].secret_name, rows["old"].age, rows["old"].power_level) == ("last", 9, 50.0)
    assert (rows["new"].secret_name, rows["new"].age) == ("n", 5)


async def test_bulk_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, db: Database, make_hero: Any
) -> None:
    a = await make_hero("a", age=1)
    b = await make_hero("b", age=2)
    body = [{"id": a["id"], "age": None}, {"id": b["id"], "secret_name": "new"}, {"id": 424242}]
    response = await client.patch("/heroes/bulk", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 2}
    rows = await stored(db)
    assert (rows["a"].age, rows["a"].secret_name) == (None, "a secret")
    assert (rows["b"].age, rows["b"].secret_name) == (2, "new")
    for bad in ([{"age": 3}], [{"id": a["id"], "name": None}], [{"id": "x"}]):
        response = await client.patch("/heroes/bulk", json=bad)
        assert response.status_code == 422, response.text
    response = await client.patch("/heroes/bulk", json=[{"id": a["id"], "name": "b"}])
    assert response.status_code == 409
    assert (await stored(db))["a"].age is None


async def test_bulk_delete(client: httpx.AsyncClient, db: Database) -> None:
    response = await client.post("/heroes/bulk", json=heroes(50))
    ids = response.json()["ids"]
    response = await client.post("/heroes/bulk-delete", json={"ids": [*ids[:40], 10**9 % 2**31]})
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": 40}
    assert len(await stored(db)) == 10
    for bad in ({"ids": ["x"]}, {"ids": [2**40]}, [1, 2]):
        response = await client.post("/heroes/bulk-delete", json=bad)
        assert response.status_code == 422, response.text


async def test_bulk_paths_are_not_hero_ids(client: httpx.AsyncClient, make_hero: Any) -> None:
    await make_hero("someone")
    response = await client.patch("/heroes/bulk", json=[])
    assert response.status_code == 200 and response.json() == {"updated": 0}
