"""Heroes: the SQLModel tutorial's contract, on every backend."""

from __future__ import annotations

from typing import Any

import httpx
from heroes.models import INT_MAX

HERO_NOT_FOUND = {"detail": "Hero not found"}


def field_named(response: httpx.Response, field: str) -> bool:
    """A 422 in FastAPI's shape whose error names `field`."""
    return any(field in error["loc"] for error in response.json()["detail"])


async def test_create_returns_hero_public_with_defaults(client: httpx.AsyncClient) -> None:
    response = await client.post("/heroes/", json={"name": "Deadpond", "secret_name": "Dive"})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["id"], int)
    assert body == {
        "id": body["id"],
        "name": "Deadpond",
        "secret_name": "Dive",
        "age": None,
        "team_id": None,
        "power_level": 50.0,
    }


async def test_id_in_the_body_is_ignored(client: httpx.AsyncClient) -> None:
    """The seed took the table model as the body, so a client could choose the id."""
    chosen = 987654
    response = await client.post(
        "/heroes/", json={"id": chosen, "name": "Spider-Boy", "secret_name": "Pedro"}
    )
    assert response.status_code == 200
    hero_id = response.json()["id"]
    assert hero_id != chosen
    assert (await client.get(f"/heroes/{chosen}")).status_code == 404
    assert (await client.get(f"/heroes/{hero_id}")).json()["name"] == "Spider-Boy"


async def test_power_level_keeps_its_value(client: httpx.AsyncClient, make_hero: Any) -> None:
    hero = await make_hero("Wonder Woman", power_level=95.3, age=28)
    fetched = (await client.get(f"/heroes/{hero['id']}")).json()
    assert fetched["power_level"] == 95.3
    assert fetched["age"] == 28


async def test_invalid_bodies_are_422(client: httpx.AsyncClient) -> None:
    missing = await client.post("/heroes/", json={"name": "No Secret"})
    assert missing.status_code == 422 and field_named(missing, "secret_name")
    wrong_type = await client.post("/heroes/", json={"name": "A", "secret_name": "B", "age": "x"})
    assert wrong_type.status_code == 422 and field_named(wrong_type, "age")
    too_long = await client.post("/heroes/", json={"name": "n" * 256, "secret_name": "B"})
    assert too_long.status_code == 422 and field_named(too_long, "name")
    nan = await client.post(
        "/heroes/",
        content=b'{"name": "A", "secret_name": "B", "power_level": NaN}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422
    huge_team = await client.post(
        "/heroes/", json={"name": "A", "secret_name": "B", "team_id": 2**40}
    )
    assert huge_team.status_code == 422 and field_named(huge_team, "team_id")
    nul = await client.post("/heroes/", json={"name": "A\x00", "secret_name": "B"})
    assert nul.status_code == 422
    assert (await client.get("/heroes/")).json() == []


async def test_duplicate_name_is_409(client: httpx.AsyncClient, make_hero: Any) -> None:
    await make_hero("Batman")
    response = await client.post("/heroes/", json={"name": "Batman", "secret_name": "Other"})
    assert response.status_code == 409
    assert isinstance(response.json()["detail"], str)
    assert len((await client.get("/heroes/")).json()) == 1


async def test_names_compare_exactly_on_every_backend(make_hero: Any) -> None:
    # MariaDB's default collation would call these duplicates.
    await make_hero("Batman")
    await make_hero("batman")
    await make_hero("Bätman")


async def test_unknown_team_id_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/heroes/", json={"name": "Lost", "secret_name": "L", "team_id": 424242}
    )
    assert response.status_code == 422
    assert field_named(response, "team_id")
    assert (await client.get("/heroes/")).json() == []


async def test_list_is_ordered_by_id_with_offset_and_limit(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    created = [await make_hero(name) for name in ("Zed", "Amy", "Mia", "Bob")]
    ids = [hero["id"] for hero in created]
    listed = (await client.get("/heroes/")).json()
    assert [hero["id"] for hero in listed] == sorted(ids)
    assert listed[0] == created[0]
    page = (await client.get("/heroes/", params={"offset": 1, "limit": 2})).json()
    assert [hero["id"] for hero in page] == sorted(ids)[1:3]
    assert (await client.get("/heroes/", params={"limit": 100})).status_code == 200


async def test_list_parameters_are_validated(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 101}, {"offset": -1}, {"limit": "many"}, {"offset": 2**63}):
        response = await client.get("/heroes/", params=params)
        assert response.status_code == 422, params


async def test_read_hero_with_team(
    client: httpx.AsyncClient, make_hero: Any, make_team: Any
) -> None:
    team = await make_team("Preventers", "Sharp Tower")
    hero = await make_hero("Rusty-Man", team_id=team["id"], age=48)
    teamless = await make_hero("Deadpond")
    response = await client.get(f"/heroes/{hero['id']}")
    assert response.status_code == 200
    assert response.json() == {**hero, "team": team}
    assert (await client.get(f"/heroes/{teamless['id']}")).json() == {**teamless, "team": None}


async def test_unknown_and_invalid_hero_ids(client: httpx.AsyncClient) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        body = {"json": {"age": 3}} if method == "PATCH" else {}
        missing = await client.request(method, "/heroes/123456", **body)  # type: ignore[arg-type]
        assert missing.status_code == 404 and missing.json() == HERO_NOT_FOUND
        negative = await client.request(method, "/heroes/-5", **body)  # type: ignore[arg-type]
        assert negative.status_code == 404 and negative.json() == HERO_NOT_FOUND
        for bad in ("abc", "1.5", str(INT_MAX + 1), str(2**70)):
            response = await client.request(method, f"/heroes/{bad}", **body)  # type: ignore[arg-type]
            assert response.status_code == 422, (method, bad)
            assert field_named(response, "hero_id")


async def test_patch_unset_keeps_and_null_clears(
    client: httpx.AsyncClient, make_hero: Any, make_team: Any
) -> None:
    team = await make_team("Z-Force")
    hero = await make_hero("Black Lion", age=35, team_id=team["id"], power_level=70.5)
    kept = await client.patch(f"/heroes/{hero['id']}", json={"secret_name": "Trevor"})
    assert kept.status_code == 200
    assert kept.json() == {**hero, "secret_name": "Trevor"}
    cleared = await client.patch(f"/heroes/{hero['id']}", json={"age": None, "team_id": None})
    assert cleared.json() == {**hero, "secret_name": "Trevor", "age": None, "team_id": None}
    stored = (await client.get(f"/heroes/{hero['id']}")).json()
    assert stored["age"] is None and stored["team"] is None and stored["power_level"] == 70.5


async def test_patch_cannot_change_the_id(client: httpx.AsyncClient, make_hero: Any) -> None:
    hero = await make_hero("Tarantula")
    response = await client.patch(f"/heroes/{hero['id']}", json={"id": 5555, "age": 40})
    assert response.status_code == 200
    assert response.json()["id"] == hero["id"]
    assert (await client.get("/heroes/5555")).status_code == 404


async def test_patch_refusals_are_4xx_and_change_nothing(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    hero = await make_hero("Dr. Weird", age=50)
    await make_hero("Captain North")
    path = f"/heroes/{hero['id']}"
    for field in ("name", "secret_name", "power_level"):
        response = await client.patch(path, json={field: None, "age": 3})
        assert response.status_code == 422 and field_named(response, field), field
    duplicate = await client.patch(path, json={"name": "Captain North", "age": 1})
    assert duplicate.status_code == 409
    unknown_team = await client.patch(path, json={"team_id": 999999, "age": 2})
    assert unknown_team.status_code == 422 and field_named(unknown_team, "team_id")
    wrong_type = await client.patch(path, json={"age": "old"})
    assert wrong_type.status_code == 422
    assert (await client.get(path)).json() == {**hero, "team": None}


async def test_delete_hero(client: httpx.AsyncClient, make_hero: Any) -> None:
    hero = await make_hero("Princess Sure-E")
    response = await client.delete(f"/heroes/{hero['id']}")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert (await client.get(f"/heroes/{hero['id']}")).json() == HERO_NOT_FOUND
    again = await client.delete(f"/heroes/{hero['id']}")
    assert again.status_code == 404 and again.json() == HERO_NOT_FOUND
