"""Concurrent writers to different rows on one SQLite file, through `Database.transaction()`.

A deferred BEGIN lets a transaction read first and take the write lock only at its first
write; when another writer committed in between, SQLite refuses the upgrade
(SQLITE_BUSY_SNAPSHOT, "database is locked") at once: the busy timeout cannot wait it
out. `transaction()` begins SQLite transactions IMMEDIATE, so writers queue for the lock
instead, as `run_in_transaction` always did. `session()` and `read_only()` stay deferred:
readers never wait for a writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from sqlmodel_async import Database, Repository, TransientError

from .models import Hero, Item

WRITERS = 40


def only_sqlite(db: Database) -> None:
    if db.backend.name != "sqlite" or db.is_memory_sqlite:
        pytest.skip("SQLite file databases (one writer at a time)")


@pytest.fixture
async def writers(db: Database) -> AsyncIterator[Database]:
    """A second Database on the same file with a pool as wide as the writers, so that every
    writer holds a connection of its own at the same time."""
    only_sqlite(db)
    other = Database(db.engine.url, metadata=db.metadata, pool_size=10, max_overflow=WRITERS)
    yield other
    await other.dispose()


async def _heroes(db: Database) -> list[int]:
    async with db.transaction() as session:
        heroes = [Hero(name=f"hero-{i}", secret_name="s") for i in range(WRITERS)]
        session.add_all(heroes)
    return [hero.id for hero in heroes if hero.id is not None]


async def _gather(*work: object) -> list[BaseException]:
    results = await asyncio.wait_for(
        asyncio.gather(*work, return_exceptions=True),  # type: ignore[arg-type]
        120,
    )
    return [result for result in results if isinstance(result, BaseException)]


async def test_read_then_write_of_different_rows(db: Database, writers: Database) -> None:
    """40 transactions at once, each reading its own hero and then changing it."""
    ids = await _heroes(db)
    started = asyncio.Event()

    async def patch(hero_id: int) -> None:
        async with writers.transaction() as session:
            hero = (await session.exec(select(Hero).where(Hero.id == hero_id))).one()
            await started.wait()  # every reader has its snapshot before anyone writes
            await asyncio.sleep(0)
            hero.power_level += 1
            session.add(hero)

    async def release() -> None:
        await asyncio.sleep(0.2)
        started.set()

    errors = await _gather(*(patch(hero_id) for hero_id in ids), release())
    assert errors == []
    async with db.session() as session:
        levels = (await session.exec(select(Hero.power_level))).all()
    assert sorted(levels) == [51.0] * WRITERS


async def test_item_adds_and_deletes_of_different_heroes(db: Database, writers: Database) -> None:
    """The service's item add (check the hero, then insert) and delete, 40 of each at once."""
    ids = await _heroes(db)

    async def add_item(hero_id: int) -> None:
        async with writers.transaction() as session:
            await Repository(Hero, session).get_one(hero_id)
            await Repository(Item, session).create({"name": "cape", "hero_id": hero_id})

    errors = await _gather(*(add_item(hero_id) for hero_id in ids))
    assert errors == []

    async def delete(hero_id: int) -> None:
        async with writers.transaction() as session:
            await Repository(Hero, session).get_one(hero_id)
            assert await Repository(Hero, session).delete(hero_id)

    errors = await _gather(*(delete(hero_id) for hero_id in ids))
    assert errors == []
    async with db.session() as session:
        assert (await session.exec(select(Hero))).all() == []
        assert (await session.exec(select(Item))).all() == []  # ON DELETE CASCADE


async def test_sessions_and_read_only_stay_deferred(db: Database, writers: Database) -> None:
    """A writer holding the lock does not block readers: their BEGIN stays deferred."""
    ids = await _heroes(db)
    async with writers.transaction() as writer:
        await Repository(Hero, writer).update(ids[0], {"age": 30})
        async with writers.read_only() as reader:
            assert (await Repository(Hero, reader).get_one(ids[0])).age is None
        async with writers.session() as reader:
            assert (await Repository(Hero, reader).get_one(ids[0])).age is None
    async with writers.session() as reader:
        assert (await Repository(Hero, reader).get_one(ids[0])).age == 30


async def test_write_transactions_of_one_process_queue_in_it(
    db: Database, writers: Database
) -> None:
    """The Database queues its own write transactions (one writer lock per process): 40
    at once all commit, and none of them waits in SQLite's busy handler for the 5 s busy
    timeout."""
    ids = await _heroes(db)

    async def bump(hero_id: int) -> None:
        async with writers.transaction() as session:
            heroes = Repository(Hero, session)
            hero = await heroes.get_one(hero_id)
            await asyncio.sleep(0)  # let the others try to begin meanwhile
            await heroes.update(hero_id, {"age": (hero.age or 0) + 1})

    started = asyncio.get_running_loop().time()
    assert await _gather(*(bump(i) for i in ids)) == []
    assert asyncio.get_running_loop().time() - started < 5
    async with db.session() as session:
        ages = [hero.age for hero in await Repository(Hero, session).get_many(ids)]
    assert ages == [1] * len(ids)


async def test_a_write_transaction_inside_another_of_the_same_task_fails_at_once(
    db: Database,
) -> None:
    """It could never get the lock: TransientError ("database is locked") at once, not
    after the busy timeout; the outer transaction goes on."""
    only_sqlite(db)
    async with db.transaction() as outer:
        await Repository(Hero, outer).create({"name": "outer", "secret_name": "s"})
        started = asyncio.get_running_loop().time()
        with pytest.raises(TransientError, match="database is locked"):
            async with db.transaction():
                pass
        assert asyncio.get_running_loop().time() - started < 1
    async with db.session() as session:
        assert await Repository(Hero, session).exists(name="outer")
