"""Faults under load: contention that only retries can get through, 50 SQLite writers, and
an exhausted pool. Real servers, real concurrency, bounded in size and time."""

import asyncio
import logging
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database
from sqlmodel_async.fastapi import SessionDep, add_exception_handlers, error_response

from .models import Hero, Team, TransferLog
from .support.backends import only

TRANSFERS = 200
HEROES = 20
TEAMS = 3


def retry_records(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        1
        for record in caplog.records
        if record.name == "sqlmodel_async.retry" and record.levelno == logging.WARNING
    )


async def add_teams_and_heroes(db: Database) -> tuple[list[int], list[int]]:
    async with db.transaction() as session:
        teams = [Team(name=f"team-{i}", headquarters="hq") for i in range(TEAMS)]
        heroes = [Hero(name=f"hero-{i}", secret_name="s") for i in range(HEROES)]
        session.add_all([*teams, *heroes])
    return [t.id for t in teams if t.id], [h.id for h in heroes if h.id]


async def transfer(session: AsyncSession, hero_id: int, team_id: int) -> None:
    """Move a hero and log it: read, then write, in one serializable transaction.

    The UPDATE is explicit so that a move to the same team still writes the hero row (the
    ORM would skip an unchanged value): every transfer then conflicts with every concurrent
    one on the same hero, and log ids follow commit order.
    """
    connection = await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
    hero = (await session.exec(select(Hero).where(Hero.id == hero_id))).one()
    await connection.execute(
        sa.update(Hero).where(sa.column("id") == hero_id).values(team_id=team_id)
    )
    session.add(TransferLog(hero_id=hero_id, from_team_id=hero.team_id, to_team_id=team_id))
    await session.flush()


@pytest.fixture
async def contended(db: Database) -> AsyncIterator[Database]:
    """A second Database on the backend with a pool big enough that 200 tasks queue for
    connections rather than time out."""
    other = Database(db.engine.url, metadata=db.metadata, pool_size=10, max_overflow=0)
    yield other
    await other.dispose()


async def test_contended_transfers_all_commit_through_retries(
    db: Database, contended: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """200 transfers over 20 heroes and 3 teams, 10 transactions at a time, SERIALIZABLE:
    PostgreSQL answers serialization failures, InnoDB deadlocks (its SERIALIZABLE reads take
    shared locks that both writers then try to upgrade). Every transfer gets through."""
    only(db, "postgresql", "mysql")
    teams, heroes = await add_teams_and_heroes(db)
    rng = random.Random(5)
    plan = [(rng.choice(heroes), rng.choice(teams)) for _ in range(TRANSFERS)]
    caplog.set_level(logging.WARNING, logger="sqlmodel_async.retry")

    async def one(hero_id: int, team_id: int) -> None:
        await contended.run_in_transaction(
            lambda session: transfer(session, hero_id, team_id),
            retries=50,
            backoff=0.005,
            max_backoff=0.25,
        )

    await asyncio.wait_for(asyncio.gather(*(one(*step) for step in plan)), 240)

    async with db.session() as session:
        logs = (await session.exec(select(TransferLog).order_by(TransferLog.id))).all()
        final = dict((await session.exec(select(Hero.id, Hero.team_id))).all())
    assert len(logs) == TRANSFERS
    assert Counter((log.hero_id, log.to_team_id) for log in logs) == Counter(plan)
    by_hero: dict[int, list[TransferLog]] = defaultdict(list)
    for log in logs:
        by_hero[log.hero_id].append(log)
    for hero_id, chain in by_hero.items():
        # Commit order: each transfer starts where the previous one left the hero (no lost
        # update), and the hero ends on its last transfer's team.
        assert chain[0].from_team_id is None
        for before, after in pairwise(chain):
            assert after.from_team_id == before.to_team_id
        assert final[hero_id] == chain[-1].to_team_id
    retries = retry_records(caplog)
    assert retries > 0  # the contention was real
    print(f"\n{db.backend.name}: {TRANSFERS} transfers, {retries} retries, 0 lost")


async def test_fifty_sqlite_writers_never_see_database_is_locked(
    db: Database, contended: Database
) -> None:
    """50 concurrent read-modify-write transactions on one SQLite file (WAL, busy timeout),
    through run_in_transaction with its default retries. A deferred BEGIN fails here (the
    read-then-write lock upgrade gets SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot wait
    out); run_in_transaction begins SQLite transactions IMMEDIATE."""
    only(db, "sqlite")
    teams, heroes = await add_teams_and_heroes(db)
    db = contended  # ten connections of its own
    writers = 50

    async def write(index: int) -> None:
        async def work(session: AsyncSession) -> None:
            hero = (await session.exec(select(Hero).where(Hero.id == heroes[0]))).one()
            hero.power_level += 1
            session.add(hero)
            session.add(TransferLog(hero_id=hero.id or 0, from_team_id=None, to_team_id=teams[0]))
            await session.flush()

        await db.run_in_transaction(work)

    results = await asyncio.wait_for(
        asyncio.gather(*(write(i) for i in range(writers)), return_exceptions=True), 120
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    async with db.session() as session:
        hero = (await session.exec(select(Hero).where(Hero.id == heroes[0]))).one()
        logged = (await session.exec(select(func.count()).select_from(TransferLog))).one()
    assert hero.power_level == 50.0 + writers  # no increment lost
    assert logged == writers


# --- pool exhaustion ------------------------------------------------------------------------


@pytest.fixture
async def tiny_pool(db: Database) -> AsyncIterator[Database]:
    if db.is_memory_sqlite:
        pytest.skip("in-memory SQLite has a static pool")
    other = Database(db.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    yield other
    await other.dispose()


async def test_pool_exhaustion_times_out_instead_of_hanging(tiny_pool: Database) -> None:
    async with tiny_pool.session() as holder:
        await holder.connection()  # the only connection
        async with tiny_pool.session() as second:
            with pytest.raises(sa_exc.TimeoutError):
                await asyncio.wait_for(second.connection(), 10)
    response = error_response(sa_exc.TimeoutError("QueuePool limit reached"))
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()


async def test_pool_exhaustion_is_a_503_over_http(tiny_pool: Database) -> None:
    app = FastAPI()
    app.state.database = tiny_pool
    add_exception_handlers(app)

    @app.get("/count")
    async def count(session: SessionDep) -> dict[str, Any]:
        total = (await session.exec(select(func.count()).select_from(Hero))).one()
        return {"count": total}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        async with tiny_pool.session() as holder:
            await holder.connection()
            busy = await asyncio.wait_for(client.get("/count"), 10)
        assert busy.status_code == 503
        assert busy.headers["retry-after"].isdigit()
        assert busy.json() == {"detail": "the database is unavailable, try again"}
        after = await asyncio.wait_for(client.get("/count"), 10)
        assert after.status_code == 200  # the service stays up
