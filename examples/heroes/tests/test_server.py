"""The app `heroes serve` runs (heroes/api/server.py): `create_app()` in a process whose
collector is set for serving. (test_workers.py runs it under `heroes serve`.)"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from heroes.api.server import SERVING_GC_THRESHOLDS, create_served_app


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


async def test_the_served_app_sets_the_collector_and_answers(
    collector: None, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/served.db")
    assert gc.get_threshold() != SERVING_GC_THRESHOLDS
    app = create_served_app()
    assert gc.get_threshold() == SERVING_GC_THRESHOLDS
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        created = await client.post("/heroes/", json={"name": "Served", "secret_name": "S"})
        assert created.status_code == 200
        assert (await client.get(f"/heroes/{created.json()['id']}")).json()["name"] == "Served"
