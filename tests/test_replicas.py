"""Read replicas against a real streaming replica of the local PostgreSQL.

`pg_is_in_recovery()` is true only on a standby: every test asks it where a query ran.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import URL, Engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import ConfigurationError, Database, ReadOnlyError, Repository

from .models import Hero, metadata
from .support.databases import Databases
from .support.pg_cluster import Replica

REPLICATION_WAIT = 10.0  # seconds: a bound on replica lag on this machine, not a measurement
#: A replica at a port where nothing listens (the harness never starts one there).
NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"


async def on_replica(session: AsyncSession) -> bool:
    """True when the session's next read runs on a standby."""
    in_recovery = await session.scalar(select(func.pg_is_in_recovery()))
    assert isinstance(in_recovery, bool)
    return in_recovery


async def wait_until_replicated(db: Database, name: str) -> tuple[int | None, str]:
    """(id, secret_name) of the hero named `name` as read on a replica, polled for at most
    REPLICATION_WAIT."""
    deadline = asyncio.get_running_loop().time() + REPLICATION_WAIT
    while True:
        async with db.read_only() as session:
            assert await on_replica(session)
            hero = await Repository(Hero, session).first(name=name)
            if hero is not None:
                return hero.id, hero.secret_name
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{name!r} did not reach the replica within {REPLICATION_WAIT}s")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def schema(pg_primary_url: URL, pg_replica: Replica) -> AsyncIterator[None]:
    """The suite's tables on the primary, replicated to the standby."""
    primary = Database(pg_primary_url, metadata=metadata)
    await primary.drop_all()
    await primary.create_all()
    yield
    await primary.dispose()


@pytest.fixture
async def db(
    schema: None, pg_primary_url: URL, pg_replica: Replica
) -> AsyncIterator[Database]:
    database = Database(
        pg_primary_url, metadata=metadata, replicas=[pg_replica.url], replica_retry_after=0.2
    )
    yield database
    await Databases.empty(database)
    await database.dispose()


async def test_read_only_runs_on_the_replica_and_writes_on_the_primary(db: Database) -> None:
    async with db.read_only() as session:
        assert await on_replica(session)
    async with db.transaction() as session:
        assert not await on_replica(session)
        await Repository(Hero, session).create({"name": "Deadpond", "secret_name": "Dive"})
    async with db.session() as session:
        assert not await on_replica(session)
    async with db.read_only(replica=False) as session:
        assert not await on_replica(session)


async def test_rows_written_on_the_primary_reach_the_replica(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create({"name": "Rusty", "secret_name": "Tommy"})
    assert await wait_until_replicated(db, "Rusty") == (hero.id, "Tommy")


async def test_writes_through_read_only_are_refused_on_the_replica(db: Database) -> None:
    with pytest.raises(ReadOnlyError):
        async with db.read_only() as session:
            assert await on_replica(session)
            session.add(Hero(name="Sneaky", secret_name="x"))
            await session.flush()
    async with db.session() as session:
        assert await Repository(Hero, session).first(name="Sneaky") is None


async def test_a_replica_session_reads_its_own_writes_on_the_primary(db: Database) -> None:
    async with db.session(replica=True) as session:
        heroes = Repository(Hero, session)
        assert await on_replica(session)
        assert await heroes.first(name="Spider-Boy") is None
        assert await heroes.count() == 0
        assert await on_replica(session)  # reads keep the session on the replica
        created = await heroes.create({"name": "Spider-Boy", "secret_name": "Pedro"})
        # The write went to the primary, and so does every read after it: the new row is
        # there at once, whatever the replica's lag.
        assert not await on_replica(session)
        found = await heroes.first(name="Spider-Boy")
        assert found is not None and found.id == created.id
        await session.commit()
        assert not await on_replica(session)  # still the primary after the commit
    async with db.session(replica=True) as session:
        assert await on_replica(session)  # a new session reads from the replica again


async def test_replica_sessions_without_replicas_use_the_primary(
    schema: None, pg_primary_url: URL
) -> None:
    async with Database(pg_primary_url, metadata=metadata) as db:
        async with db.read_only() as session:
            assert not await on_replica(session)
        async with db.session(replica=True) as session:
            assert not await on_replica(session)


async def test_read_only_sessions_take_the_replicas_in_turn(
    schema: None, pg_primary_url: URL, pg_replica: Replica
) -> None:
    # The one replica under two names: each name has its own engine, and we can tell them
    # apart by the engine that served the session.
    names = [pg_replica.url, pg_replica.url.set(host="localhost")]
    async with Database(pg_primary_url, replicas=names) as db:
        served = []
        for _ in range(4):
            async with db.read_only() as session:
                assert await on_replica(session)
                bind = session.sync_session.get_bind()
                assert isinstance(bind, Engine)
                served.append(bind.url.host)
    assert served == ["127.0.0.1", "localhost", "127.0.0.1", "localhost"]


async def test_round_robin_skips_an_unreachable_replica(
    schema: None, pg_primary_url: URL, pg_replica: Replica, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(pg_primary_url, replicas=[NOWHERE, pg_replica.url], replica_retry_after=60)
    try:
        with caplog.at_level(logging.WARNING, logger="sqlmodel_async.replicas"):
            for _ in range(4):
                async with db.read_only() as session:
                    assert await on_replica(session)
        warnings = [r for r in caplog.records if "127.0.0.1:9" in r.getMessage()]
        assert len(warnings) == 1  # skipped after the first failure, not retried at once
        assert "unreachable" in warnings[0].getMessage()
    finally:
        await db.dispose()


async def test_reads_fall_back_to_the_primary_while_the_replica_is_down(
    db: Database, pg_replica: Replica, caplog: pytest.LogCaptureFixture
) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "Tarantula", "secret_name": "Natalia"})
    await wait_until_replicated(db, "Tarantula")  # the replica's pool holds a connection now
    pg_replica.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="sqlmodel_async.replicas"):
            for _ in range(3):
                async with db.read_only() as session:
                    assert not await on_replica(session)
                    assert await Repository(Hero, session).first(name="Tarantula") is not None
                async with db.session(replica=True) as session:
                    assert not await on_replica(session)
        assert any("unreachable" in r.getMessage() for r in caplog.records)
    finally:
        pg_replica.start()
    # Back on the replica once it answers again and the retry delay has passed.
    deadline = asyncio.get_running_loop().time() + REPLICATION_WAIT
    while True:
        async with db.read_only() as session:
            if await on_replica(session):
                break
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("reads did not return to the restarted replica")
        await asyncio.sleep(0.1)


def test_replica_options_are_checked(pg_primary_url: URL) -> None:
    with pytest.raises(ConfigurationError, match="list of URLs"):
        Database(pg_primary_url, replicas=str(pg_primary_url))
    with pytest.raises(ConfigurationError, match="not a postgresql database"):
        Database(pg_primary_url, replicas=["mysql://root@127.0.0.1/test"])
    with pytest.raises(ConfigurationError, match="SQLite has no replicas"):
        Database("sqlite+aiosqlite://", replicas=["sqlite+aiosqlite:///other.db"])
    with pytest.raises(ConfigurationError, match="invalid replica URL"):
        Database(pg_primary_url, replicas=["not a url"])
    with pytest.raises(ConfigurationError, match="replica_retry_after"):
        Database(pg_primary_url, replicas=[NOWHERE], replica_retry_after=-1)


async def test_locking_reads_and_textual_sql_go_to_the_primary(db: Database) -> None:
    async with db.session(replica=True) as session:
        await session.exec(select(Hero).with_for_update())  # a replica cannot lock rows
        assert not await on_replica(session)
    async with db.session(replica=True) as session:
        # Textual SQL may write: it runs on the primary, and so does everything after it.
        result = await session.scalar(text("SELECT pg_is_in_recovery()"))
        assert result is False
        assert not await on_replica(session)
