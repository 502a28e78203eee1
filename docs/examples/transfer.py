"""transfer_hero_async: the team change and the TransferLog row commit together, or not at
all (the seed's refresh() before commit threw the team change away)."""

import pytest
from heroes.models import Hero, HeroUpdate, Team, TransferLog
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, ForeignKeyError, Repository


async def transfer(session: AsyncSession, hero_id: int, team_id: int) -> Hero:
    heroes = Repository(Hero, session)
    from_team_id = (await heroes.get_one(hero_id)).team_id
    hero = await heroes.update(hero_id, HeroUpdate(team_id=team_id))  # no refresh() before commit
    await Repository(TransferLog, session).create(
        TransferLog(hero_id=hero_id, from_team_id=from_team_id, to_team_id=team_id)
    )
    return hero


async def main(db: Database) -> None:
    async with db.transaction() as session:
        team = await Repository(Team, session).create({"name": "Z-Force", "headquarters": "Z"})
        hero = await Repository(Hero, session).create({"name": "Deadpond", "secret_name": "D"})
    assert hero.id is not None and team.id is not None
    hero_id, team_id = hero.id, team.id

    moved = await db.run_in_transaction(lambda session: transfer(session, hero_id, team_id))
    assert moved.team_id == team_id

    # An unknown team: the foreign key refuses it, and neither change is kept.
    with pytest.raises(ForeignKeyError):
        await db.run_in_transaction(lambda session: transfer(session, hero_id, -1))

    async with db.read_only() as session:
        assert (await Repository(Hero, session).get_one(hero_id)).team_id == team_id
        [log] = await Repository(TransferLog, session).list()
        assert (log.from_team_id, log.to_team_id) == (None, team_id)
        assert log.transferred_at.tzinfo is not None  # timezone-aware, read back as UTC
