"""Optimistic concurrency on heroes over HTTP: a PATCH that lost the race between its read
and its write is refused (409), never applied over the winner's change; transfers, which
re-read what they change, still all succeed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from itertools import pairwise
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from heroes.models import Hero
from sqlalchemy import event
from sqlalchemy.util import await_only

from sqlmodel_async import Database
from sqlmodel_async.loading import GuardedSession


@asynccontextmanager
async def paused_before_write(
    matches: Callable[[Hero], bool], resume: asyncio.Event
) -> AsyncIterator[asyncio.Event]:
    """While open, a session about to flush a hero that `matches` stops there (after its
    read) until `resume` is set; the yielded event says it got there."""
    reached = asyncio.Event()

    def before_flush(session: Any, _context: Any, _instances: Any) -> None:
        if any(isinstance(o, Hero) and matches(o) for o in session.dirty):
            reached.set()
            await_only(resume.wait())  # flushes run in SQLAlchemy's greenlet: awaitable

    event.listen(GuardedSession, "before_flush", before_flush)
    try:
        yield reached
    finally:
        event.remove(GuardedSession, "before_flush", before_flush)


async def _hero_row(db: Database, hero_id: int) -> dict[str, Any]:
    async with db.engine.connect() as connection:
        table = Hero.__table__  # type: ignore[attr-defined]
        row = (await connection.execute(sa.select(table).where(table.c.id == hero_id))).one()
        return dict(row._mapping)


async def test_patch_that_lost_the_race_is_409_and_the_winner_stays(
    db: Database, client: httpx.AsyncClient, make_hero: Any
) -> None:
    if db.backend.name == "sqlite":
        pytest.skip(
            "SQLite: write transactions take the write lock as they begin, so B waits for A "
            "and there is no race to lose (test_faults_sqlite_writers.py)"
        )
    hero = await make_hero("Rusty-Man", age=48)
    url = f"/heroes/{hero['id']}"
    b_done = asyncio.Event()
    async with paused_before_write(lambda h: h.name == "Loser", b_done) as a_read:
        # A reads the hero, then waits; B reads, writes and commits meanwhile.
        a = asyncio.create_task(client.patch(url, json={"name": "Loser", "age": 1}))
        await asyncio.wait_for(a_read.wait(), 30)
        b = await client.patch(url, json={"name": "Winner"})
        b_done.set()
        a_response = await asyncio.wait_for(a, 30)

    assert b.status_code == 200, b.text
    assert b.json() == {**hero, "name": "Winner"}  # the API body is unchanged: no version
    if db.backend.name == "sqlite":
        # SQLite refuses to turn A's read snapshot into a write once B committed: a
        # transient refusal (503, retry later), also never an overwrite.
        assert a_response.status_code == 503, a_response.text
        assert a_response.headers["Retry-After"]
    else:
        assert a_response.status_code == 409, a_response.text
        assert "read it again" in a_response.json()["detail"]

    row = await _hero_row(db, hero["id"])
    assert (row["name"], row["age"], row["version"]) == ("Winner", 48, 2)
    assert (await client.get(url)).json()["name"] == "Winner"
    # A retried now, from a fresh read, goes through.
    again = await client.patch(url, json={"name": "Loser", "age": 1})
    assert again.status_code == 200, again.text
    assert (await _hero_row(db, hero["id"]))["version"] == 3


async def test_patch_of_a_hero_deleted_meanwhile_is_404(
    db: Database, client: httpx.AsyncClient, make_hero: Any
) -> None:
    if db.backend.name == "sqlite":
        pytest.skip("SQLite: the snapshot rule again (503), covered above")
    hero = await make_hero("Gone")
    url = f"/heroes/{hero['id']}"
    deleted = asyncio.Event()
    async with paused_before_write(lambda h: h.age == 7, deleted) as read:
        patch = asyncio.create_task(client.patch(url, json={"age": 7}))
        await asyncio.wait_for(read.wait(), 30)
        assert (await client.delete(url)).status_code == 200
        deleted.set()
        response = await asyncio.wait_for(patch, 30)
    assert response.status_code == 404, response.text


async def test_transfers_and_patches_interleaved_transfers_all_succeed(
    db: Database, client: httpx.AsyncClient, make_hero: Any, make_team: Any
) -> None:
    """Concurrent transfers and PATCHes of the same heroes: every transfer succeeds (it
    locks and re-reads, and a version conflict would be retried), PATCHes are 200 or a
    clean refusal, and the log chains: each transfer left from where the last one put
    the hero."""
    teams = [(await make_team(f"team-{i}"))["id"] for i in range(3)]
    heroes = [(await make_hero(f"hero-{i}"))["id"] for i in range(4)]
    plan = [(heroes[i % 4], teams[i % 3]) for i in range(24)]

    async def transfer(hero_id: int, team_id: int) -> int:
        response = await client.post(f"/heroes/{hero_id}/transfer", json={"team_id": team_id})
        return response.status_code

    async def patch(hero_id: int, age: int) -> int:
        return (await client.patch(f"/heroes/{hero_id}", json={"age": age})).status_code

    work = [transfer(*step) for step in plan] + [patch(h, n) for n, h in enumerate(heroes * 3)]
    statuses = await asyncio.wait_for(asyncio.gather(*work), 120)
    assert Counter(statuses[: len(plan)]) == {200: len(plan)}
    assert set(statuses[len(plan) :]) <= {200, 409, 503}

    log = (await client.get("/transfers/")).json()
    assert len(log) == len(plan)
    for hero_id in heroes:
        moves = sorted((r for r in log if r["hero_id"] == hero_id), key=lambda r: r["id"])
        for before, after in pairwise(moves):
            assert after["from_team_id"] == before["to_team_id"]
        row = await _hero_row(db, hero_id)
        assert row["team_id"] == moves[-1]["to_team_id"]
