"""`Database.reader()` (reader.py) on every backend: the same schema instances as the
session path for every read shape, conversions kept, errors translated, a lost or
interrupted connection never pooled again, and callers beyond the pool's size queued
instead of timing out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from sqlmodel_async import Database, NotFoundError, Reader, Repository

from .models import Hero, Measurement, MeasurementKind, Team
from .schemas import (
    HeroConverted,
    HeroPublic,
    HeroPublicWithTeam,
    HeroTeamFirst,
    TeamPublicWithHeroes,
    TeamRoster,
)
from .support.recorders import queries
from .support.seeds import sort_collections
from .support.seeds import teams_heroes_and_items as seed


def same(left: Any, right: Any) -> None:
    """Equal instances of the same schema, serialised to the same bytes."""
    assert left == right
    assert type(left) is type(right)
    if isinstance(left, list):
        assert [item.model_dump_json() for item in left] == [
            item.model_dump_json() for item in right
        ]
    elif left is not None:
        assert left.model_dump_json() == right.model_dump_json()


async def test_every_read_shape_gives_what_the_session_path_gives(db: Database) -> None:
    data = await seed(db)
    first_hero, full = data["heroes"][0], data["full"]
    async with db.session() as session, db.reader() as reader:
        heroes, teams = Repository(Hero, session), Repository(Team, session)
        same(await reader.project(Hero, HeroPublicWithTeam).get(first_hero),
             await heroes.project(HeroPublicWithTeam).get(first_hero))
        same(await reader.project(Hero, HeroPublicWithTeam).get_one(data["heroes"][4]),
             await heroes.project(HeroPublicWithTeam).get_one(data["heroes"][4]))
        same(await reader.project(Team, TeamPublicWithHeroes).get(full),
             await teams.project(TeamPublicWithHeroes).get(full))
        same(await reader.project(Team, TeamRoster).get(full),
             await teams.project(TeamRoster).get(full))
        same(await reader.project(Hero, HeroTeamFirst).get(first_hero),
             await heroes.project(HeroTeamFirst).get(first_hero))
        for offset, limit in [(0, None), (0, 2), (1, 3), (10, 5)]:
            same(await reader.project(Hero, HeroPublic).list(offset=offset, limit=limit),
                 await heroes.project(HeroPublic).list(offset=offset, limit=limit))
        same(await reader.project(Team, TeamPublicWithHeroes).list(),
             await teams.project(TeamPublicWithHeroes).list())
        by_name = [Hero.name.desc()]  # type: ignore[attr-defined]
        same(await reader.project(Hero, HeroPublic).list(Hero.age > 20, order_by=by_name, limit=2),  # type: ignore[operator]
             await heroes.project(HeroPublic).list(Hero.age > 20, order_by=by_name, limit=2))  # type: ignore[operator]
        same(await reader.project(Hero, HeroPublic).list(team_id=None),
             await heroes.project(HeroPublic).list(team_id=None))
        # Fields the schema converts (an int column read as float) are validated.
        converted = await reader.project(Hero, HeroConverted).list()
        same(converted, await heroes.project(HeroConverted).list())
        assert isinstance(converted[1].age, float)
        # And what the ORM itself loads agrees.
        orm_team = sort_collections(await teams.get_one(full, load=[Team.heroes]))
        assert (await reader.project(Team, TeamPublicWithHeroes).get_one(full)) == (
            TeamPublicWithHeroes.model_validate(orm_team, from_attributes=True)
        )


async def test_missing_rows_and_bad_arguments(db: Database) -> None:
    await seed(db)
    async with db.reader() as reader:
        assert await reader.project(Hero, HeroPublic).get(10_000) is None
        with pytest.raises(NotFoundError) as missing:
            await reader.project(Hero, HeroPublic).get_one(10_000)
        assert missing.value.key == 10_000
        with pytest.raises(ValueError, match="offset"):
            await reader.project(Hero, HeroPublic).list(offset=-1)
        with pytest.raises(ValueError, match="limit"):
            await reader.project(Hero, HeroPublic).list(limit=-1)
        with pytest.raises(TypeError, match="no column 'nickname'"):
            await reader.project(Hero, HeroPublic).list(nickname="x")
        # The connection is still good after all that.
        assert len(await reader.project(Hero, HeroPublic).list()) == 5


class MeasurementPublic(BaseModel):
    id: int
    taken_at: datetime
    amount: Decimal
    kind: MeasurementKind


async def test_values_sqlalchemy_converts_are_converted(db: Database) -> None:
    """A TypeDecorator (UTCDateTime), Numeric and Enum columns: the driver's raw values
    (naive timestamps on MariaDB/SQLite, strings for the enum) are never handed out."""
    taken = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    async with db.transaction() as session:
        row = Measurement(taken_at=taken, amount=Decimal("12.34"), kind=MeasurementKind.SENSOR)
        session.add(row)
    async with db.session() as session, db.reader() as reader:
        read = await reader.project(Measurement, MeasurementPublic).get_one(row.id)
        by_session = Repository(Measurement, session).project(MeasurementPublic)
        same(read, await by_session.get_one(row.id))
        assert read.taken_at == taken and read.taken_at.tzinfo is not None
        assert read.amount == Decimal("12.34")
        assert read.kind is MeasurementKind.SENSOR
        listed = await reader.project(Measurement, MeasurementPublic).list()
        assert listed == [read]


async def test_the_driver_path_is_taken_only_where_it_is_safe(db: Database) -> None:
    """PostgreSQL (asyncpg): kept statements go to the driver; an engine with cursor
    listeners (a query log, tracing) keeps SQLAlchemy's path, and sees every statement."""
    async with db.reader() as reader:
        assert reader.direct is (db.backend.name == "postgresql")
    await seed(db)
    with queries(db, starting="SELECT") as selects:
        async with db.reader() as reader:
            assert not reader.direct
            await reader.project(Team, TeamPublicWithHeroes).list()
    assert len(selects) == 2  # the teams, then every team's heroes in one query


async def _outcome(read: Any) -> tuple[str, Any]:
    try:
        return "value", await read
    except Exception as error:  # the test compares what each path raises
        return "error", type(error)


async def test_a_bad_key_is_the_same_outcome_on_both_paths(db: Database) -> None:
    """PostgreSQL refuses a string for an integer key; SQLite and MariaDB coerce it and
    find nothing. Either way the Reader answers what the session path answers."""
    await seed(db)
    async with db.session() as session:
        by_session = await _outcome(Repository(Hero, session).project(HeroPublic).get("x"))
    async with db.reader() as reader:
        assert await _outcome(reader.project(Hero, HeroPublic).get("x")) == by_session
        assert len(await reader.project(Hero, HeroPublic).list()) == 5  # still usable


async def test_a_lost_connection_is_read_again_and_not_pooled_again(
    db: Database, backend_url: str
) -> None:
    """A read on a connection the server dropped runs again on a fresh one (reading twice
    changes nothing); the dead connection is discarded."""
    if db.backend.name == "sqlite":
        pytest.skip("no server connection to lose on SQLite")
    await seed(db)
    # One pooled connection: the query below and the reader share it, so its server id
    # is the one to kill (and no other test's connection is touched).
    solo = Database(backend_url, pool_size=1, max_overflow=0)
    own_id = "SELECT pg_backend_pid()" if db.backend.name == "postgresql" else (
        "SELECT CONNECTION_ID()"
    )
    kill = "SELECT pg_terminate_backend({})" if db.backend.name == "postgresql" else "KILL {}"
    try:
        async with solo.engine.connect() as connection:
            victim = (await connection.exec_driver_sql(own_id)).scalar_one()
        async with solo.reader() as reader:
            await reader.project(Hero, HeroPublic).list()
            async with db.engine.connect() as connection:
                await connection.exec_driver_sql(kill.format(victim))
            await asyncio.sleep(0.2)
            assert len(await reader.project(Hero, HeroPublic).list()) == 5
        # The dead connection was discarded: the next reader gets a working one.
        async with solo.reader() as reader:
            assert len(await reader.project(Hero, HeroPublic).list()) == 5
    finally:
        await solo.dispose()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_a_stale_idle_connection_is_replaced_by_the_careful_checkout(
    db: Database, backend_url: str
) -> None:
    """Past the stale-pool window, a reader takes an idle connection without a greenlet;
    one that a disconnect left to replace makes SQLAlchemy refuse that (MissingGreenlet,
    and an unawaited connect coroutine: the warning ignored here) and the checkout is done
    again the careful way, with a new connection."""
    if db.backend.name == "sqlite":
        pytest.skip("no server connection to lose on SQLite")
    await seed(db)
    solo = Database(backend_url, pool_size=1, max_overflow=0)
    try:
        async with solo.reader() as reader:
            await reader.project(Hero, HeroPublic).list()
            raw: Any = reader._raw
            raw.invalidate()  # as a disconnect would leave it
        solo._pool_checkout._last_invalidation = float("-inf")  # pretend the window is over
        assert not solo._pool_checkout.idle_may_need_io()
        async with solo.reader() as reader:
            assert len(await reader.project(Hero, HeroPublic).list()) == 5
    finally:
        await solo.dispose()


async def test_an_interrupted_read_does_not_pool_its_connection(db: Database) -> None:
    if db.backend.name == "sqlite":
        pytest.skip("SQLite answers in-process: nothing is left on the wire")
    await seed(db)
    sleep = sa.text("pg_sleep(2) IS NOT NULL" if db.backend.name == "postgresql"
                    else "SLEEP(2) = 0")

    async def slow_read() -> None:
        async with db.reader() as reader:
            await reader.project(Hero, HeroPublic).list(sleep)

    task = asyncio.ensure_future(slow_read())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pool: Any = db.engine.pool
    assert pool.checkedout() == 0
    for _ in range(3):  # every pooled connection answers its own query
        async with db.reader() as reader:
            assert len(await reader.project(Hero, HeroPublic).list()) == 5


async def test_callers_beyond_the_pool_wait_their_turn(backend_url: str) -> None:
    """A pool of 2 with a 0.2 s checkout timeout and 12 readers holding their connection
    0.1 s each: all are served (in the pool's own queue, most would time out)."""
    from .models import metadata

    db = Database(backend_url, pool_size=2, max_overflow=0, pool_timeout=0.2)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        served: list[int] = []

        async def read(n: int) -> None:
            async with db.reader() as reader:
                assert isinstance(reader, Reader)
                await reader.project(Hero, HeroPublic).list(limit=1)
                await asyncio.sleep(0.1)
                served.append(n)

        await asyncio.gather(*(read(n) for n in range(12)))
        assert sorted(served) == list(range(12))
        assert served[:2] == [0, 1]  # first come, first served
    finally:
        await db.dispose()
