"""Hero names compare the same way on every backend: "Victim " (a trailing space) is not
"Victim", so an upsert of it creates a hero instead of overwriting the victim's secret
name (it did on MariaDB, whose collation padded trailing spaces); and any text, emoji
included, is stored as sent in every text column (MariaDB tables are utf8mb4)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx


async def test_a_trailing_space_is_another_name(
    client: httpx.AsyncClient, make_hero: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    victim = await make_hero("Victim", secret_name="real secret", age=30)
    upserted = await client.put(
        "/heroes/bulk", json=[{"name": "Victim ", "secret_name": "attacker", "age": 99}]
    )
    assert upserted.status_code == 200, upserted.text
    stored = (await client.get(f"/heroes/{victim['id']}")).json()
    assert (stored["name"], stored["secret_name"], stored["age"]) == ("Victim", "real secret", 30)
    names = sorted(hero["name"] for hero in (await client.get("/heroes/")).json())
    assert names == ["Victim", "Victim "]


async def test_names_differing_by_trailing_spaces_are_two_heroes(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/heroes/", json={"name": "Dup", "secret_name": "s"})
    second = await client.post("/heroes/", json={"name": "Dup ", "secret_name": "s"})
    assert (first.status_code, second.status_code) == (200, 200), second.text
    upserted = await client.put(
        "/heroes/bulk",
        json=[{"name": "B", "secret_name": "one"}, {"name": "B ", "secret_name": "two"}],
    )
    assert upserted.status_code == 200
    heroes = {hero["name"]: hero["secret_name"] for hero in (await client.get("/heroes/")).json()}
    assert heroes == {"Dup": "s", "Dup ": "s", "B": "one", "B ": "two"}
    # Still a duplicate when it is the same name.
    again = await client.post("/heroes/", json={"name": "Dup", "secret_name": "s"})
    assert again.status_code == 409


async def test_emoji_in_every_text_column(client: httpx.AsyncClient) -> None:
    team = await client.post("/teams/", json={"name": "Team 🦸", "headquarters": "Tower 🏰"})
    assert team.status_code == 200, team.text
    hero = await client.post(
        "/heroes/",
        json={"name": "Emoji 😀", "secret_name": "Secret 🤫", "team_id": team.json()["id"]},
    )
    assert hero.status_code == 200, hero.text
    item = await client.post(f"/heroes/{hero.json()['id']}/items", json={"name": "Cape 🧣"})
    assert item.status_code == 200, item.text
    stored = (await client.get(f"/heroes/{hero.json()['id']}")).json()
    assert (stored["name"], stored["secret_name"]) == ("Emoji 😀", "Secret 🤫")
    assert (stored["team"]["name"], stored["team"]["headquarters"]) == ("Team 🦸", "Tower 🏰")
    items = (await client.get(f"/heroes/{hero.json()['id']}/items")).json()
    assert [row["name"] for row in items] == ["Cape 🧣"]
