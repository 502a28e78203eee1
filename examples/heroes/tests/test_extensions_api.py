"""The core service's extensions: transfers, items and roster, health and readiness,
and the background notification."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from heroes.api import create_app
from heroes.notifications import Notifier

from sqlmodel_async import Database


async def test_transfer_moves_the_hero_and_logs_it_once(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    """The seed refreshed the hero before the commit, which reloaded the old team:
    only the log row was written. Here the team change is kept."""
    old, new = await make_team("Preventers"), await make_team("Z-Force")
    hero = await make_hero("Deadpond", team_id=old["id"])
    response = await client.post(f"/heroes/{hero['id']}/transfer", json={"team_id": new["id"]})
    assert response.status_code == 200
    assert response.json() == {**hero, "team_id": new["id"]}
    stored = (await client.get(f"/heroes/{hero['id']}")).json()
    assert stored["team"] == new
    log = (await client.get("/transfers/", params={"hero_id": hero["id"]})).json()
    assert len(log) == 1
    entry = log[0]
    assert (entry["hero_id"], entry["from_team_id"], entry["to_team_id"]) == (
        hero["id"],
        old["id"],
        new["id"],
    )
    assert datetime.fromisoformat(entry["transferred_at"]).utcoffset() == timedelta(0)


async def test_failing_transfers_write_nothing(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    team = await make_team("Preventers")
    hero = await make_hero("Deadpond", team_id=team["id"])
    unknown_team = await client.post(f"/heroes/{hero['id']}/transfer", json={"team_id": 777777})
    assert unknown_team.status_code == 422
    assert any("team_id" in error["loc"] for error in unknown_team.json()["detail"])
    unknown_hero = await client.post("/heroes/777777/transfer", json={"team_id": team["id"]})
    assert unknown_hero.status_code == 404
    assert unknown_hero.json() == {"detail": "Hero not found"}
    bad_body = await client.post(f"/heroes/{hero['id']}/transfer", json={"team_id": "x"})
    assert bad_body.status_code == 422
    assert (await client.get(f"/heroes/{hero['id']}")).json()["team_id"] == team["id"]
    assert (await client.get("/transfers/")).json() == []


async def test_transfer_log_is_newest_first(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    a, b = await make_team("A"), await make_team("B")
    hero = await make_hero("Rusty-Man")
    other = await make_hero("Tarantula")
    for team in (a, b, a):
        await client.post(f"/heroes/{hero['id']}/transfer", json={"team_id": team["id"]})
    await client.post(f"/heroes/{other['id']}/transfer", json={"team_id": b["id"]})
    mine = (await client.get("/transfers/", params={"hero_id": hero["id"]})).json()
    assert [(e["from_team_id"], e["to_team_id"]) for e in mine] == [
        (b["id"], a["id"]),
        (a["id"], b["id"]),
        (None, a["id"]),
    ]
    everyone = (await client.get("/transfers/")).json()
    assert len(everyone) == 4 and everyone[0]["hero_id"] == other["id"]
    stamps = [datetime.fromisoformat(e["transferred_at"]) for e in everyone]
    assert stamps == sorted(stamps, reverse=True)


async def test_teams_and_heroes_with_transfers_can_be_deleted(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    a, b = await make_team("A"), await make_team("B")
    hero = await make_hero("Rusty-Man", team_id=a["id"])
    await client.post(f"/heroes/{hero['id']}/transfer", json={"team_id": b["id"]})
    assert (await client.delete(f"/teams/{a['id']}")).status_code == 200
    log = (await client.get("/transfers/")).json()
    assert [(e["from_team_id"], e["to_team_id"]) for e in log] == [(None, b["id"])]
    assert (await client.delete(f"/heroes/{hero['id']}")).status_code == 200
    assert (await client.get("/transfers/")).json() == []


async def test_items_and_roster(
    client: httpx.AsyncClient, make_team: Any, make_hero: Any
) -> None:
    team = await make_team("Preventers")
    rusty = await make_hero("Rusty-Man", team_id=team["id"])
    spider = await make_hero("Spider-Boy", team_id=team["id"])
    created = []
    for name in ("Shield", "Cape"):
        response = await client.post(f"/heroes/{rusty['id']}/items", json={"name": name})
        assert response.status_code == 200
        created.append(response.json())
    assert created[0] == {"id": created[0]["id"], "name": "Shield", "hero_id": rusty["id"]}
    assert (await client.get(f"/heroes/{rusty['id']}/items")).json() == created
    assert (await client.get(f"/heroes/{spider['id']}/items")).json() == []
    roster = (await client.get(f"/teams/{team['id']}/roster")).json()
    assert roster == {
        **team,
        "heroes": [{**rusty, "items": created}, {**spider, "items": []}],
    }


async def test_items_of_unknown_heroes_and_teams(client: httpx.AsyncClient) -> None:
    created = await client.post("/heroes/4242/items", json={"name": "Shield"})
    assert created.status_code == 404 and created.json() == {"detail": "Hero not found"}
    listed = await client.get("/heroes/4242/items")
    assert listed.status_code == 404
    roster = await client.get("/teams/4242/roster")
    assert roster.status_code == 404 and roster.json() == {"detail": "Team not found"}
    assert (await client.post("/heroes/1/items", json={})).status_code == 422


async def test_deleting_a_hero_deletes_its_items(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    hero = await make_hero("Rusty-Man")
    await client.post(f"/heroes/{hero['id']}/items", json={"name": "Shield"})
    assert (await client.delete(f"/heroes/{hero['id']}")).status_code == 200
    assert (await client.get(f"/heroes/{hero['id']}/items")).status_code == 404


async def test_background_task_reads_the_hero_through_its_own_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The notification runs after the response, when the request's session is
    closed; it opens its own and sees the committed hero."""
    response = await client.post("/heroes/", json={"name": "Deadpond", "secret_name": "Dive"})
    assert response.status_code == 200
    assert list(app.state.notifier.sent) == ["New hero: Deadpond"]


async def test_the_notifier_keeps_only_the_latest(db: Database, make_hero: Any) -> None:
    """A long-running service must not grow by one message per hero created."""
    notifier = Notifier(db, keep=2)
    for name in ("Ant", "Bee", "Cicada"):
        await notifier.hero_created((await make_hero(name))["id"])
    assert list(notifier.sent) == ["New hero: Bee", "New hero: Cicada"]


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    # Port 1 on the loopback: nothing listens, the connection is refused at once.
    for url in ("postgresql+asyncpg://postgres@127.0.0.1:1/x", "mysql+asyncmy://root@127.0.0.1:1/x"):
        unreachable = Database(url)
        app = create_app(database=unreachable)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://heroes.test") as client:
            assert (await client.get("/health")).status_code == 200
            response = await client.get("/ready")
            assert response.status_code == 503, url
            assert response.json()["status"] == "unavailable"
            heroes = await client.get("/heroes/")
            assert heroes.status_code == 503
        await unreachable.dispose()
