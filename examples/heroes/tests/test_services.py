"""The service layer on every backend: typed input, the atomic transfer, and
timestamps that come back timezone-aware (UTCDateTime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from heroes.models import Hero, HeroCreate, HeroUpdate, Team, TeamCreate, TransferLog
from heroes.services import HeroService, TeamService, move_hero
from pydantic import ValidationError
from sqlalchemy.exc import StatementError
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, ForeignKeyError, NotFoundError, Repository


async def rows(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return await Repository(model, session).list()


async def test_services_take_validated_schemas_not_dicts(db: Database) -> None:
    """The seed's `create_hero(hero_data: dict)` stored whatever it was given, `id`
    included. Ours takes a HeroCreate, so bad data never reaches the database."""
    heroes = HeroService(db)
    with pytest.raises(TypeError, match="HeroCreate"):
        await heroes.create({"id": 77, "name": "Sneaky", "secret_name": "S"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        HeroCreate(name="Sneaky", secret_name="S", age="old")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TeamCreate"):
        await TeamService(db).create({"name": "T", "headquarters": "H"})  # type: ignore[arg-type]
    assert await rows(db, Hero) == [] and await rows(db, Team) == []

    hero = await heroes.create(HeroCreate(name="Deadpond", secret_name="Dive", age=30))
    assert hero.id is not None and hero.power_level == 50.0
    assert hero.id is not None
    updated = await heroes.update(hero.id, HeroUpdate(age=None))
    assert updated.age is None and updated.secret_name == "Dive"


async def test_transfer_keeps_the_team_change(db: Database) -> None:
    """The seed's `await session.refresh(hero)` before commit reloaded the old
    team_id, so only the log row was written."""
    teams = TeamService(db)
    old = await teams.create(TeamCreate(name="Preventers", headquarters="Tower"))
    new = await teams.create(TeamCreate(name="Z-Force", headquarters="Bar"))
    heroes = HeroService(db)
    hero = await heroes.create(HeroCreate(name="Rusty-Man", secret_name="Tommy", team_id=old.id))
    assert hero.id is not None and new.id is not None

    moved = await heroes.transfer(hero.id, new.id)

    assert moved.team_id == new.id
    assert (await heroes.get(hero.id)).team_id == new.id
    [log] = await rows(db, TransferLog)
    assert (log.hero_id, log.from_team_id, log.to_team_id) == (hero.id, old.id, new.id)


async def test_failed_transfers_write_neither_row(db: Database) -> None:
    heroes = HeroService(db)
    team = await TeamService(db).create(TeamCreate(name="Preventers", headquarters="Tower"))
    hero = await heroes.create(HeroCreate(name="Rusty-Man", secret_name="Tommy"))
    assert hero.id is not None and team.id is not None

    with pytest.raises(ForeignKeyError) as refused:
        await heroes.transfer(hero.id, 999_999)
    assert refused.value.column == "team_id"
    with pytest.raises(NotFoundError):
        await heroes.transfer(999_999, team.id)

    # A failure after the team change (and its log row) were flushed: both roll back.
    async def move_then_fail(session: AsyncSession) -> None:
        assert hero.id is not None and team.id is not None
        await move_hero(session, hero_id=hero.id, team_id=team.id)
        raise RuntimeError("the unit of work fails after both writes")

    with pytest.raises(RuntimeError):
        await db.run_in_transaction(move_then_fail)

    assert (await heroes.get(hero.id)).team_id is None
    assert await rows(db, TransferLog) == []


async def test_transfer_timestamps_are_utc_and_aware(db: Database) -> None:
    heroes = HeroService(db)
    team = await TeamService(db).create(TeamCreate(name="Preventers", headquarters="Tower"))
    hero = await heroes.create(HeroCreate(name="Rusty-Man", secret_name="Tommy"))
    assert hero.id is not None and team.id is not None
    await heroes.transfer(hero.id, team.id)
    [log] = await heroes.transfers(hero.id)
    assert log.transferred_at.tzinfo is not None
    assert log.transferred_at.utcoffset() == timedelta(0)


async def test_utc_datetime_round_trips_an_instant(db: Database) -> None:
    """UTCDateTime: an aware time in any zone is stored as UTC and read back aware, with
    its microseconds (MariaDB's plain DATETIME would drop them)."""
    hero = await HeroService(db).create(HeroCreate(name="Rusty-Man", secret_name="Tommy"))
    assert hero.id is not None
    tokyo = timezone(timedelta(hours=9))
    instant = datetime(2024, 2, 29, 23, 30, 15, 123456, tzinfo=tokyo)
    async with db.transaction() as session:
        await Repository(TransferLog, session).create(
            TransferLog(hero_id=hero.id, to_team_id=None, transferred_at=instant)
        )
    [stored] = await rows(db, TransferLog)
    assert stored.transferred_at == instant
    assert stored.transferred_at.tzinfo == UTC
    assert stored.transferred_at.hour == 14 and stored.transferred_at.microsecond == 123456

    naive = datetime(2024, 1, 1, 12, 0)
    with pytest.raises(StatementError, match="timezone-aware"):
        async with db.transaction() as session:
            session.add(TransferLog(hero_id=hero.id, transferred_at=naive))
    assert len(await rows(db, TransferLog)) == 1
