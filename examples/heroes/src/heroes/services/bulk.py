"""Many heroes per call (the /heroes/bulk endpoints)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, Repository

from ..models import Hero, HeroCreate, HeroUpdate


class HeroBulkService:
    """Each method is one unit of work through `run_in_transaction`: every row is written or
    none is, and a deadlock or serialization failure re-runs the whole unit in a fresh
    transaction. The library sends each chunk sorted by its key, so concurrent requests
    writing the same heroes in opposite orders wait for each other rather than deadlock;
    the retry covers what is left (locks taken by other statements, say).
    """

    def __init__(self, database: Database) -> None:
        self.db = database

    async def create_many(self, rows: Sequence[HeroCreate]) -> list[Hero]:
        """The new heroes with their ids, in the order given; a name that exists (or is
        given twice) is a `DuplicateKeyError` and nothing is created."""

        async def work(session: AsyncSession) -> list[Hero]:
            return await Repository(Hero, session).create_many(rows, returning=True)

        return await self.db.run_in_transaction(work)

    async def upsert_many(self, rows: Sequence[HeroCreate]) -> int:
        """Create or replace heroes by name; a name given twice: the last row wins."""

        async def work(session: AsyncSession) -> int:
            return await Repository(Hero, session).upsert_many(rows, conflict=["name"])

        return await self.db.run_in_transaction(work)

    async def update_many(self, rows: Sequence[HeroUpdate]) -> int:
        """Change the fields each row sets; every row also carries the hero's `id`. Returns
        how many heroes were found."""

        async def work(session: AsyncSession) -> int:
            return await Repository(Hero, session).update_many(rows)

        return await self.db.run_in_transaction(work)

    async def delete_many(self, ids: Sequence[int]) -> int:
        """Delete these heroes (their items go with them); returns how many existed."""

        async def work(session: AsyncSession) -> int:
            return await Repository(Hero, session).delete_many(ids)

        return await self.db.run_in_transaction(work)
