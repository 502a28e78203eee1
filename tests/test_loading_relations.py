"""`load=` over nested paths and many-to-many: one query per level, and the lazy-load
guard still names the relationship that was not loaded and the fix."""

from __future__ import annotations

import pytest

from sqlmodel_async import Database, LazyLoadError, Repository
from sqlmodel_async.testing import max_queries

from .relations_models import Category, RHero, RHeroPower, RPower, RTeam


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        session.add(RTeam(id=1, name="Preventers"))
        session.add_all([RPower(id=1, name="strength"), RPower(id=2, name="speed")])
        session.add_all([
            RHero(id=1, name="Deadpond", team_id=1), RHero(id=2, name="Rusty-Man", team_id=1),
        ])
        session.add(Category(id=1, name="root"))
        await session.flush()
        session.add_all([
            Category(id=2, name="b", parent_id=1), Category(id=3, name="a", parent_id=1),
        ])
        session.add_all([
            RHeroPower(hero_id=1, power_id=2, level=3), RHeroPower(hero_id=1, power_id=1, level=1),
            RHeroPower(hero_id=2, power_id=1, level=5),
        ])


async def test_nested_paths_and_many_to_many(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        with max_queries(rdb, 3):
            team = await Repository(RTeam, session).get_one(
                1, load=[RTeam.heroes, (RTeam.heroes, RHero.powers)]
            )
        assert [hero.name for hero in team.heroes] == ["Deadpond", "Rusty-Man"]
        assert sorted(power.name for power in team.heroes[0].powers) == ["speed", "strength"]
        with pytest.raises(LazyLoadError, match=r"RPower\.heroes.*load=\[RPower\.heroes\]"):
            _ = team.heroes[0].powers[0].heroes
        powers = await Repository(RPower, session).list(load=[(RPower.heroes, RHero.team)])
        assert [[hero.team.name for hero in power.heroes if hero.team] for power in powers] == [
            ["Preventers", "Preventers"], ["Preventers"],
        ]


async def test_self_referential_paths(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        root = await Repository(Category, session).get_one(
            1, load=[(Category.children, Category.parent)]
        )
        assert [child.name for child in root.children] == ["a", "b"]
        assert {child.parent.name for child in root.children if child.parent} == {"root"}
        with pytest.raises(LazyLoadError, match=r"Category\.children"):
            _ = root.children[0].children
