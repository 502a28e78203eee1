"""GET /heroes/paginated, /heroes/cursor, /heroes/export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from heroes.api import create_app
from heroes.models import Hero

from sqlmodel_async import CursorCodec, Database

NAMES = ["comma, hero", 'quote "hero"', "new\nline", "ünï 漢字 🦸", "plain"]


@pytest.fixture
def app(db: Database) -> FastAPI:
    application = create_app(database=db)
    application.state.cursor_codec = CursorCodec("browse-test-secret-0123456789")
    return application


async def insert(db: Database, count: int) -> None:
    rows = [
        {
            "name": f"{index:03d} {NAMES[index % len(NAMES)]}",
            "secret_name": NAMES[index % len(NAMES)],
            "age": None if index % 4 == 0 else index % 3,
            "power_level": index / 4,
        }
        for index in range(count)
    ]
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(Hero.__table__), rows)  # type: ignore[arg-type]


async def all_heroes(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/heroes/", params={"limit": 100})
    assert response.status_code == 200
    heroes: list[dict[str, Any]] = response.json()
    return heroes


async def test_paginated(client: httpx.AsyncClient, db: Database) -> None:
    await insert(db, 23)
    everyone = await all_heroes(client)
    seen = []
    for page in (1, 2, 3, 4):
        response = await client.get("/heroes/paginated", params={"page": page, "size": 10})
        assert response.status_code == 200
        body = response.json()
        assert (body["total"], body["page"], body["size"], body["pages"]) == (23, page, 10, 3)
        seen.extend(body["items"])
    assert seen == everyone  # id order, every field of HeroPublic, nothing past the end


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page": -1}, {"size": 0}, {"size": 101}, {"page": "x"}]
)
async def test_paginated_bad_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get("/heroes/paginated", params=params)
    assert response.status_code == 422
    assert "detail" in response.json()


async def walk(client: httpx.AsyncClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        query = {**params, **({"after": after} if after else {})}
        response = await client.get("/heroes/cursor", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(body["items"])
        after = body["next_cursor"]
        if after is None:
            return seen


async def test_cursor_walks_cover_every_hero_once(client: httpx.AsyncClient, db: Database) -> None:
    await insert(db, 37)
    everyone = {hero["id"]: hero for hero in await all_heroes(client)}
    by_id = await walk(client, {"limit": 5})
    assert [hero["id"] for hero in by_id] == sorted(everyone)
    mixed = await walk(client, {"limit": 4, "order_by": ["age", "-name"]})
    assert sorted(hero["id"] for hero in mixed) == sorted(everyone)
    assert len(mixed) == 37
    ages = [hero["age"] for hero in mixed]
    nulls = [index for index, age in enumerate(ages) if age is None]
    values = [age for age in ages if age is not None]
    assert values == sorted(values)
    assert nulls == list(range(len(nulls))) or nulls == list(range(37 - len(nulls), 37))


async def test_tampered_or_foreign_cursor_is_400(client: httpx.AsyncClient, db: Database) -> None:
    await insert(db, 12)
    first = (await client.get("/heroes/cursor", params={"limit": 5, "order_by": "name"})).json()
    cursor = first["next_cursor"]
    body, signature = cursor.split(".")
    for bad, order in [
        (body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature, "name"),
        (cursor[:-3], "name"),
        ("garbage", "name"),
        (cursor, "-name"),  # issued for another order
    ]:
        response = await client.get(
            "/heroes/cursor", params={"limit": 5, "after": bad, "order_by": order}
        )
        assert response.status_code == 400
        assert response.json() == {"detail": "invalid cursor"}


@pytest.mark.parametrize(
    "params",
    [{"order_by": "secret_name"}, {"order_by": "name; DROP TABLE hero"}, {"limit": 0},
     {"limit": 101}],
)
async def test_cursor_bad_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get("/heroes/cursor", params=params)
    assert response.status_code == 422


async def test_export_ndjson(client: httpx.AsyncClient, db: Database) -> None:
    await insert(db, 30)
    everyone = await all_heroes(client)
    response = await client.get("/heroes/export", params={"format": "ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.text.split("\n")
    assert lines[-1] == ""
    assert json.loads(lines[-2]) == {"complete": True, "count": 30}  # the completion line
    assert [json.loads(line) for line in lines[:-2]] == everyone


async def test_export_csv_escaping(client: httpx.AsyncClient, db: Database) -> None:
    await insert(db, 30)
    everyone = await all_heroes(client)
    response = await client.get("/heroes/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert list(records[0]) == ["name", "secret_name", "age", "team_id", "power_level", "id"]
    assert len(records) == 30
    for record, hero in zip(records, everyone, strict=True):
        assert record["name"] == hero["name"] and record["secret_name"] == hero["secret_name"]
        assert record["age"] == ("" if hero["age"] is None else str(hero["age"]))
        assert int(record["id"]) == hero["id"]
        assert float(record["power_level"]) == hero["power_level"]


async def test_export_of_an_empty_table_and_unknown_format(client: httpx.AsyncClient) -> None:
    empty = await client.get("/heroes/export", params={"format": "csv"})
    assert empty.status_code == 200
    assert empty.text == "name,secret_name,age,team_id,power_level,id\r\n"
    # NDJSON by default: no hero, only the completion line
    assert (await client.get("/heroes/export")).text == '{"complete":true,"count":0}\n'

    unknown = await client.get("/heroes/export", params={"format": "xml"})
    assert unknown.status_code == 422
