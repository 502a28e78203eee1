"""PgBouncer in transaction pooling mode (Debian's 1.18), 4 server connections."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sqlmodel_async import ConfigurationError, Database, Repository

from .models import Hero, Team, metadata
from .support.pg_cluster import Bouncer

PREPARED_STATEMENT_ERROR = re.compile(r"prepared statement .* (does not exist|already exists)")
UNITS_OF_WORK = 120


async def cached_statement_on_another_server(engine: AsyncEngine) -> None:
    """Run a statement in one transaction, then again from the same client connection in
    a later transaction while another client holds the server connection it ran on."""
    async with engine.connect() as first:
        await first.execute(text("SELECT 1"))
        await first.commit()  # PgBouncer takes the server connection back
        async with engine.connect() as second:
            await second.execute(text("SELECT 2"))  # ... and gives it to this client
            await first.execute(text("SELECT 1"))  # another server connection
            await first.commit()


async def test_plain_sqlalchemy_asyncpg_fails_through_pgbouncer(pgbouncer: Bouncer) -> None:
    engine = create_async_engine(pgbouncer.url)
    errors: list[str] = []
    try:
        for _ in range(5):  # PgBouncer picks the server connection; once is enough
            try:
                await cached_statement_on_another_server(engine)
            except sa_exc.DBAPIError as error:
                errors.append(str(error.orig))
                await engine.dispose()
    finally:
        await engine.dispose()
    assert errors, "the statement cache survived PgBouncer: the harness is not in transaction mode"
    assert all(PREPARED_STATEMENT_ERROR.search(message) for message in errors), errors


async def test_the_same_steps_work_with_pgbouncer_true(pgbouncer: Bouncer) -> None:
    async with Database(pgbouncer.url, pgbouncer=True) as db:
        for _ in range(5):
            await cached_statement_on_another_server(db.engine)


@pytest.fixture(scope="module")
async def bounced(pg_primary_url: URL, pgbouncer: Bouncer) -> AsyncIterator[Database]:
    """The suite's tables, created on the primary; a Database that reaches them through
    PgBouncer with more client connections (30) than PgBouncer has server connections (4)."""
    async with Database(pg_primary_url, metadata=metadata) as primary:
        await primary.drop_all()
        await primary.create_all()
    db = Database(
        pgbouncer.url, metadata=metadata, pgbouncer=True, pool_size=20, max_overflow=10
    )
    yield db
    await db.dispose()


def track_checkouts(engine: AsyncEngine) -> dict[str, int]:
    """Count the client connections the engine has checked out at once (the peak)."""
    counts = {"now": 0, "peak": 0}

    @event.listens_for(engine.sync_engine, "checkout")
    def checkout(*_: Any) -> None:
        counts["now"] += 1
        counts["peak"] = max(counts["peak"], counts["now"])

    @event.listens_for(engine.sync_engine, "checkin")
    def checkin(*_: Any) -> None:
        counts["now"] -= 1

    return counts


async def test_concurrent_units_of_work_through_pgbouncer(
    bounced: Database, pgbouncer: Bouncer
) -> None:
    async with bounced.transaction() as session:
        team = await Repository(Team, session).create({"name": "Avengers", "headquarters": "NY"})
    checkouts = track_checkouts(bounced.engine)

    async def unit(number: int) -> None:
        kind = number % 4
        if kind == 0:  # insert
            async with bounced.transaction() as session:
                await Repository(Hero, session).create(
                    {"name": f"hero-{number}", "secret_name": f"secret-{number}",
                     "team_id": team.id, "age": number}
                )
        elif kind == 1:  # read one, read-only transaction
            async with bounced.read_only() as session:
                found = await Repository(Team, session).get(team.id)
                assert found is not None and found.name == "Avengers"
        elif kind == 2:  # list
            async with bounced.session() as session:
                heroes = await Repository(Hero, session).list(order_by=[Hero.id], limit=50)
                assert all(hero.team_id == team.id for hero in heroes)
        else:  # read several statements in one transaction, then a plain insert
            async with bounced.transaction() as session:
                await Repository(Hero, session).count()
                await Repository(Hero, session).exists(name=f"hero-{number - 3}")
                connection = await session.connection()
                await connection.execute(
                    text("INSERT INTO t_team (name, headquarters) VALUES (:n, 'x')"),
                    {"n": f"team-{number}"},
                )

    results = await asyncio.gather(
        *(unit(number) for number in range(UNITS_OF_WORK)), return_exceptions=True
    )
    errors = [result for result in results if isinstance(result, BaseException)]
    assert errors == []
    async with bounced.read_only() as session:
        assert await Repository(Hero, session).count() == UNITS_OF_WORK // 4
        assert await Repository(Team, session).count() == 1 + UNITS_OF_WORK // 4
    # More clients than PgBouncer's 4 server connections were in flight at once.
    assert checkouts["peak"] > pgbouncer.pool_size
    assert pgbouncer.server_connections() <= pgbouncer.pool_size


def test_pgbouncer_option_is_for_asyncpg_only() -> None:
    with pytest.raises(ConfigurationError, match="pgbouncer=True is for PostgreSQL"):
        Database("mysql://root@127.0.0.1/test", pgbouncer=True)
    with pytest.raises(ConfigurationError, match="pgbouncer=True"):
        Database("sqlite+aiosqlite://", pgbouncer=True)


async def test_explicit_connect_args_win_over_the_pgbouncer_settings(pgbouncer: Bouncer) -> None:
    names: list[str] = []

    def name() -> str:
        names.append(f"__mine_{len(names)}__")
        return names[-1]

    db = Database(
        pgbouncer.url, pgbouncer=True, connect_args={"prepared_statement_name_func": name}
    )
    async with db, db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    assert names


async def test_readers_through_pgbouncer(bounced: Database, pgbouncer: Bouncer) -> None:
    """`Database.reader()` under transaction pooling: its reads keep their statements in
    one transaction each, so no statement is looked for on another server connection."""
    from .schemas import HeroPublic, TeamPublicWithHeroes

    async with bounced.transaction() as session:
        team = await Repository(Team, session).create({"name": "Readers", "headquarters": "R"})
        for number in range(5):
            await Repository(Hero, session).create(
                {"name": f"reader-{number}", "secret_name": "r", "team_id": team.id}
            )

    async def read(number: int) -> None:
        async with bounced.reader() as reader:
            found = await reader.project(Team, TeamPublicWithHeroes).get_one(team.id)
            assert [h.name for h in found.heroes] == [f"reader-{n}" for n in range(5)]
            assert len(await reader.project(Hero, HeroPublic).list(limit=3 + number % 3)) > 0

    results = await asyncio.gather(*(read(n) for n in range(60)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
