"""get_multiple_heroes_async and get_heroes_and_teams_async: one round trip, or one
session per concurrent task (an AsyncSession is not safe to share between tasks)."""

import asyncio

import pytest
from heroes.models import Hero, Team

from sqlmodel_async import Database, NotFoundError, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(
            [{"name": name, "secret_name": name.lower()} for name in ("A", "B", "C")]
        )
        session.add(Team(name="Preventers", headquarters="Sharp Tower"))
    ids = [hero.id for hero in created]

    async with db.session() as session:
        heroes = Repository(Hero, session)
        # get_multiple_heroes_async: one query, in the order asked for.
        assert [h.name for h in await heroes.get_many([ids[2], ids[0]])] == ["C", "A"]
        # Missing ids are reported (missing="skip" leaves them out instead).
        with pytest.raises(NotFoundError) as missing:
            await heroes.get_many([ids[1], -1])
        assert missing.value.missing == [-1]

    # get_heroes_and_teams_async: true concurrency needs one session per task.
    async def all_heroes() -> list[Hero]:
        async with db.session() as session:
            return await Repository(Hero, session).list()

    async def all_teams() -> list[Team]:
        async with db.session() as session:
            return await Repository(Team, session).list()

    heroes_found, teams_found = await asyncio.gather(all_heroes(), all_teams())
    assert (len(heroes_found), len(teams_found)) == (3, 1)
