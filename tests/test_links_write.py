"""Writing many-to-many links: replace, add, remove, create a parent with its links; atomic,
unknown far keys named, duplicates idempotent, bulk statements per chunk."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from sqlmodel import select

from sqlmodel_async import Database, ForeignKeyError, InvalidDataError, NotFoundError, Repository
from sqlmodel_async.testing import max_queries

from .relations_models import HeroWithLevels, RHero, RHeroPower, RPower


async def seed(db: Database) -> tuple[int, int]:
    """Powers 1-3; two heroes (their ids are returned), linked to strength at 2 and 8.
    Hero ids are handed out by the database: heroes are created later too."""
    async with db.transaction() as session:
        for power_id, name in ((1, "strength"), (2, "speed"), (3, "flight")):
            session.add(RPower(id=power_id, name=name))
        first, second = RHero(name="Deadpond"), RHero(name="Rusty-Man")
        session.add_all([first, second])
        await session.flush()
        assert first.id is not None and second.id is not None
        session.add(RHeroPower(hero_id=first.id, power_id=1, level=2))
        session.add(RHeroPower(hero_id=second.id, power_id=1, level=8))
        return first.id, second.id


async def links(db: Database, hero_id: int) -> list[tuple[int, int]]:
    async with db.reader() as reader:
        hero = await reader.project(RHero, HeroWithLevels).get_one(hero_id)
    return [(link.power.id, link.level) for link in hero.powers]


async def test_set_links_replaces_them(rdb: Database) -> None:
    h1, h2 = await seed(rdb)
    async with rdb.transaction() as session:
        count = await Repository(RHero, session).set_links(
            h1, RHero.powers, [{"power_id": 3, "level": 5}, {"power_id": 2, "level": 1}]
        )
    assert count == 2
    assert await links(rdb, h1) == [(2, 1), (3, 5)]
    assert await links(rdb, h2) == [(1, 8)]  # another hero's links are left alone
    async with rdb.transaction() as session:
        assert await Repository(RHero, session).set_links(h1, "powers", []) == 0
    assert await links(rdb, h1) == []


async def test_add_is_idempotent_and_remove_counts(rdb: Database) -> None:
    h1, _h2 = await seed(rdb)
    async with rdb.transaction() as session:
        heroes = Repository(RHero, session)
        # The link to 1 exists: it is kept once, with the level given now. 2 twice: the last wins.
        await heroes.add_links(h1, RHero.powers, [
            {"power_id": 1, "level": 4}, {"power_id": 2, "level": 3}, {"power_id": 2, "level": 6},
        ])
        await heroes.add_links(h1, RHero.powers, [3])  # a far key alone: the default level
    assert await links(rdb, h1) == [(1, 4), (2, 6), (3, 1)]
    async with rdb.transaction() as session:
        assert await Repository(RHero, session).remove_links(h1, RHero.powers, [1, 3, 99]) == 2
    assert await links(rdb, h1) == [(2, 6)]


async def test_unknown_far_key_is_named_and_nothing_changes(rdb: Database) -> None:
    h1, h2 = await seed(rdb)
    async with rdb.transaction() as session:
        heroes = Repository(RHero, session)
        await heroes.add_links(h2, RHero.powers, [2])  # earlier work of the same transaction
        with pytest.raises(ForeignKeyError) as caught:
            await heroes.set_links(h1, RHero.powers, [{"power_id": 3}, {"power_id": 98}, 99])
        assert caught.value.column == "power_id"
        assert "98, 99" in str(caught.value)
        assert caught.value.missing == [98, 99]
        # The transaction is still usable and kept its earlier work.
        assert await heroes.count() == 2
    assert await links(rdb, h1) == [(1, 2)]
    assert await links(rdb, h2) == [(1, 8), (2, 1)]


async def test_unknown_parent_is_not_found(rdb: Database) -> None:
    h1, _h2 = await seed(rdb)
    async with rdb.transaction() as session:
        with pytest.raises(NotFoundError):
            await Repository(RHero, session).set_links(42, RHero.powers, [1])
        with pytest.raises(InvalidDataError, match="no column strength"):
            await Repository(RHero, session).set_links(h1, RHero.powers, [{"strength": 1}])
        with pytest.raises(InvalidDataError, match="needs 'power_id'"):
            await Repository(RHero, session).set_links(h1, RHero.powers, [{"level": 1}])
        with pytest.raises(TypeError, match="not a many-to-many"):
            await Repository(RHero, session).set_links(h1, RHero.team, [1])
        with pytest.raises(TypeError, match="not a relationship of RHero"):
            await Repository(RHero, session).set_links(h1, RPower.heroes, [1])
    assert await links(rdb, h1) == [(1, 2)]


class PowerLink(BaseModel):
    power_id: int
    level: int


class HeroCreateWithPowers(BaseModel):
    name: str
    powers: list[PowerLink] = []


async def test_create_with_links_in_one_call(rdb: Database) -> None:
    _h1, _h2 = await seed(rdb)
    async with rdb.transaction() as session:
        hero = await Repository(RHero, session).create_with_links(
            HeroCreateWithPowers(name="Spider-Boy", powers=[PowerLink(power_id=3, level=9)])
        )
        other = await Repository(RHero, session).create_with_links(
            {"name": "Tarantula"}, powers=[1, 2]
        )
    assert hero.id is not None and other.id is not None
    assert await links(rdb, hero.id) == [(3, 9)]
    assert await links(rdb, other.id) == [(1, 1), (2, 1)]
    async with rdb.transaction() as session:
        with pytest.raises(ForeignKeyError, match="power_id 7"):
            await Repository(RHero, session).create_with_links(
                HeroCreateWithPowers(name="Nobody", powers=[PowerLink(power_id=7, level=1)])
            )
        assert (await session.exec(select(RHero).where(RHero.name == "Nobody"))).first() is None
    async with rdb.session() as session:
        assert await Repository(RHero, session).count() == 4


async def test_many_links_are_one_statement_per_chunk(rdb: Database) -> None:
    async with rdb.transaction() as session:
        await Repository(RPower, session).create_many(
            [{"name": f"power {n}"} for n in range(300)], returning=False
        )
        hero = RHero(name="Deadpond")
        session.add(hero)
        await session.flush()
        h1 = hero.id
    async with rdb.transaction() as session:
        ids = [power.id for power in await Repository(RPower, session).list()]
        with max_queries(rdb, 12) as log:
            await Repository(RHero, session).set_links(
                h1, RHero.powers, [{"power_id": key, "level": 2} for key in ids]
            )
    statements = [s.split()[0].upper() for s in log.statements]
    # lock the hero, check the far keys, delete the old links, insert the new ones: a few
    # statements (chunks under the parameter limit), never one per link
    assert statements.count("INSERT") <= 2 and len(statements) <= 12
    assert len(await links(rdb, h1)) == 300


async def test_loaded_collections_are_not_left_stale(rdb: Database) -> None:
    h1, _h2 = await seed(rdb)
    async with rdb.transaction() as session:
        hero = await Repository(RHero, session).get_one(h1, load=[RHero.powers])
        assert [power.id for power in hero.powers] == [1]
        await Repository(RHero, session).set_links(h1, RHero.powers, [2, 3])
        hero = await Repository(RHero, session).get_one(h1, load=[RHero.powers])
        assert [power.id for power in hero.powers] == [2, 3]
