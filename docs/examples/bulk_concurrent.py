"""Concurrent bulk upserts of the same rows, in opposite orders, as units of work."""

import asyncio
from typing import Any

from heroes.models import Hero
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, Repository


async def main(db: Database) -> None:
    names = [f"hero-{i:02d}" for i in range(50)]

    async def put(rows: list[dict[str, Any]]) -> int:
        async def work(session: AsyncSession) -> int:
            return await Repository(Hero, session).upsert_many(rows, conflict=["name"])

        # A deadlock or serialization failure re-runs the whole unit.
        return await db.run_in_transaction(work)

    forward = [{"name": name, "secret_name": "forward"} for name in names]
    backward = [{"name": name, "secret_name": "backward"} for name in reversed(names)]
    # Each chunk is sent sorted by the conflict key, so both lock the rows in the same
    # order: one waits for the other instead of deadlocking.
    written = await asyncio.gather(put(forward), put(backward), put(forward))
    assert list(written) == [50, 50, 50]

    async with db.session() as session:
        assert await Repository(Hero, session).count() == 50
