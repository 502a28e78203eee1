"""execute_with_retry_async, safe_create_hero_async, run_in_transaction_async: retry the
whole unit of work, in a fresh transaction, on transient errors only."""

import pytest
from heroes.models import Hero, HeroCreate
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, DuplicateKeyError, Repository, TransientError


async def main(db: Database) -> None:
    attempts = 0

    async def create_deadpond(session: AsyncSession) -> Hero:
        nonlocal attempts
        attempts += 1
        hero = await Repository(Hero, session).create(
            HeroCreate(name="Deadpond", secret_name="Dive Wilson")
        )
        if attempts == 1:  # what a deadlock or a dropped connection raises
            raise TransientError("simulated deadlock")
        return hero

    # Run in a new transaction, committed at the end; the first attempt was rolled back.
    hero = await db.run_in_transaction(create_deadpond, retries=3)
    assert attempts == 2 and hero.id is not None

    # A duplicate is not transient: it is raised at once, never retried.
    attempts = 0
    with pytest.raises(DuplicateKeyError):
        await db.run_in_transaction(create_deadpond, retries=3)
    assert attempts == 1

    async with db.read_only() as session:
        assert await Repository(Hero, session).count() == 1
