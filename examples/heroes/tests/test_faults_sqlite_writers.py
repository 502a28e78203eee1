"""Concurrent writes to different rows on SQLite, the service's default backend: 40 PATCHes
of 40 heroes, 40 item adds and 40 deletes at once all succeed (none answers 503 "database
is locked"): the service's write transactions take SQLite's write lock as they begin."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from sqlmodel_async import Database

HEROES = 40


async def _all_at_once(requests: list[Awaitable[httpx.Response]]) -> Counter[int]:
    responses = await asyncio.wait_for(asyncio.gather(*requests), 120)
    return Counter(response.status_code for response in responses)


async def test_concurrent_writes_to_different_heroes(
    db: Database, client: httpx.AsyncClient, make_hero: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    if db.backend.name != "sqlite":
        pytest.skip("SQLite's single writer lock")
    ids = [(await make_hero(f"hero-{i}"))["id"] for i in range(HEROES)]

    patched = await _all_at_once(
        [client.patch(f"/heroes/{hero_id}", json={"age": 30}) for hero_id in ids]
    )
    added = await _all_at_once(
        [client.post(f"/heroes/{hero_id}/items", json={"name": "cape"}) for hero_id in ids]
    )
    deleted = await _all_at_once([client.delete(f"/heroes/{hero_id}") for hero_id in ids])

    statuses = {"patch": patched, "add item": added, "delete": deleted}
    assert statuses == {name: {200: HEROES} for name in statuses}
    assert (await client.get("/heroes/")).json() == []
