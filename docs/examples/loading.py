"""Relationships: get_heroes_with_teams_async, get_teams_with_heroes_async,
get_complex_relationships_async, and what a lazy load does in async code."""

import pytest
from heroes.models import Hero, Item, Team

from sqlmodel_async import Database, LazyLoadError, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        team = Team(name="Preventers", headquarters="Sharp Tower")
        hero = Hero(name="Deadpond", secret_name="Dive Wilson", team=team)
        session.add_all([team, hero])
        await session.flush()  # hero.id is known from here
        await Repository(Item, session).create({"name": "Katana", "hero_id": hero.id})

    async with db.session() as session:
        heroes = Repository(Hero, session)
        teams = Repository(Team, session)

        # get_heroes_with_teams_async: a many-to-one is joined into the same query.
        for hero in await heroes.list(load=[Hero.team]):
            assert hero.team is not None and hero.team.name == "Preventers"

        # get_teams_with_heroes_async: a collection gets one extra SELECT ... IN, and the
        # rows are de-duplicated (the seed's joinedload without .unique() raises).
        [loaded] = await teams.list(load=[Team.heroes])
        assert [h.name for h in loaded.heroes] == ["Deadpond"]

        # get_complex_relationships_async: a path loads Team.heroes, then each Hero.items.
        [roster] = await teams.list(load=[(Team.heroes, Hero.items)])
        assert [item.name for item in roster.heroes[0].items] == ["Katana"]

    # A relationship that was not loaded fails with its name and the fix, not MissingGreenlet.
    async with db.session() as session:
        plain = await Repository(Hero, session).first(name="Deadpond")
        assert plain is not None
        with pytest.raises(LazyLoadError, match=r"Hero\.team"):
            print(plain.team)
