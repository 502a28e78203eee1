"""Concurrent bulk upserts of the same heroes in opposite orders: the library sends each
chunk sorted by its key, so the requests lock the rows in the same order and wait for each
other instead of deadlocking; a deadlock that still happens is retried by
`run_in_transaction`. No request is answered 503."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from heroes.models import Hero
from sqlmodel import func, select

from sqlmodel_async import Database

NAMES = [f"hero-{i:03d}" for i in range(200)]
REQUESTS = 30


async def test_opposite_order_bulk_upserts_all_succeed(
    db: Database, client: httpx.AsyncClient
) -> None:
    async def put(n: int) -> int:
        names = NAMES if n % 2 == 0 else NAMES[::-1]
        rows = [{"name": name, "secret_name": f"s{n}", "age": n} for name in names]
        response = await client.put("/heroes/bulk", json=rows)
        if response.status_code == 200:
            assert response.json() == {"upserted": len(NAMES)}
        return response.status_code

    statuses = Counter(await asyncio.gather(*(put(n) for n in range(REQUESTS))))
    assert statuses == {200: REQUESTS}
    async with db.session() as session:
        count = (await session.exec(select(func.count()).select_from(Hero))).one()
        ages = set((await session.exec(select(Hero.age))).all())
    assert count == len(NAMES)
    assert len(ages) == 1  # every hero holds the row of one request: the last to commit


async def test_opposite_order_bulk_updates_all_succeed(
    db: Database, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/heroes/bulk", json=[{"name": name, "secret_name": "s"} for name in NAMES]
    )
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]

    async def patch(n: int) -> int:
        order = ids if n % 2 == 0 else ids[::-1]
        rows = [{"id": hero_id, "age": n} for hero_id in order]
        return (await client.patch("/heroes/bulk", json=rows)).status_code

    statuses = Counter(await asyncio.gather(*(patch(n) for n in range(REQUESTS))))
    assert statuses == {200: REQUESTS}
