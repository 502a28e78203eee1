"""Schema reads over every relationship shape: many-to-many (the far rows, and the link rows
with their data), self-reference (children, parent, a recursive tree), three levels of
nesting; one query per relationship level whatever the number of rows, on the session path,
the Reader and its JSON path, pages and streams."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from sqlmodel import SQLModel

from sqlmodel_async import Database, Repository
from sqlmodel_async.projection import plan_projections, projection_for
from sqlmodel_async.testing import max_queries

from .relations_models import (
    Category,
    CategoryTree,
    CategoryWithAncestors,
    CategoryWithParent,
    HeroWithLevels,
    HeroWithPowers,
    HeroWithTeamAndMates,
    PowerWithHeroes,
    PowerWithHeroRows,
    RHero,
    RHeroPower,
    RPower,
    RTeam,
    TeamWithPowerfulHeroes,
    metadata,
)


async def seed(db: Database) -> dict[str, int]:
    """Two teams; heroes with powers at levels (inserted out of key order); a category tree."""
    async with db.transaction() as session:
        for team_id, name in ((1, "Preventers"), (2, "Z-Force")):
            session.add(RTeam(id=team_id, name=name))
        for power_id, name in ((3, "flight"), (1, "strength"), (2, "speed")):
            session.add(RPower(id=power_id, name=name))
        heroes = [(1, "Deadpond", 1), (2, "Rusty-Man", 1), (3, "Spider-Boy", None)]
        for hero_id, name, team_id in [*heroes, (4, "Tarantula", 2)]:
            session.add(RHero(id=hero_id, name=name, team_id=team_id))
        await session.flush()
        links = [(1, 3, 5), (1, 1, 2), (2, 2, 7), (4, 1, 9), (4, 2, 1), (4, 3, 4)]
        for hero_id, power_id, level in links:
            session.add(RHeroPower(hero_id=hero_id, power_id=power_id, level=level))
        # root -> (b, a); a -> a1; loaded by parent_id, children ordered by name
        for category_id, name, parent in (
            (1, "root", None), (2, "b", 1), (3, "a", 1), (4, "a1", 3),
        ):
            session.add(Category(id=category_id, name=name, parent_id=parent))
            await session.flush()
    return {}


def dumped(items: Any) -> Any:
    if isinstance(items, list):
        return [item.model_dump() for item in items]
    return items.model_dump()


LEVELS_1 = [
    {"level": 2, "power": {"id": 1, "name": "strength"}},
    {"level": 5, "power": {"id": 3, "name": "flight"}},
]
TEAM_1 = {
    "id": 1,
    "name": "Preventers",
    "heroes": [
        {"id": 1, "name": "Deadpond", "powers": LEVELS_1},
        {"id": 2, "name": "Rusty-Man", "powers": [
            {"level": 7, "power": {"id": 2, "name": "speed"}},
        ]},
    ],
}


async def test_many_to_many_far_rows_in_key_order(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        with max_queries(rdb, 2):
            heroes = await Repository(RHero, session).project(HeroWithPowers).list()
    assert [[power.id for power in hero.powers] for hero in heroes] == [[1, 3], [2], [], [1, 2, 3]]
    assert heroes[0].powers[1].name == "flight"


async def test_link_model_with_data(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        hero = await Repository(RHero, session).project(HeroWithLevels).get_one(1)
        power = await Repository(RPower, session).project(PowerWithHeroes).get_one(1)
    assert dumped(hero) == {"id": 1, "name": "Deadpond", "powers": LEVELS_1}
    assert [(link.level, link.hero.name) for link in power.heroes] == [
        (2, "Deadpond"), (9, "Tarantula"),
    ]


async def test_three_levels_one_query_per_level(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        with max_queries(rdb, 3) as log:
            teams = await Repository(RTeam, session).project(TeamWithPowerfulHeroes).list()
    assert len(log) == 3  # teams, their heroes, the heroes' links joined to their powers
    assert dumped(teams[0]) == TEAM_1
    assert [hero.name for hero in teams[1].heroes] == ["Tarantula"]
    assert [link.level for link in teams[1].heroes[0].powers] == [9, 1, 4]


async def test_reader_and_json_path_give_the_same(rdb: Database) -> None:
    await seed(rdb)
    # A Database of its own: no query counter on its engine, so PostgreSQL's reads take the
    # driver's direct path.
    fresh = Database(rdb.url, metadata=metadata)
    try:
        async with fresh.reader() as reader:
            assert reader.direct == (rdb.backend.name == "postgresql")
            one = await reader.project(RTeam, TeamWithPowerfulHeroes).get_one(1)
            body = await reader.project(RTeam, TeamWithPowerfulHeroes).get_json(1)
            listed = await reader.project(RTeam, TeamWithPowerfulHeroes).list_json()
            filtered = await reader.project(RTeam, TeamWithPowerfulHeroes).list_json(
                RTeam.name == "Preventers"
            )
            powers = await reader.project(RPower, PowerWithHeroRows).list_json()
    finally:
        await fresh.dispose()
    assert dumped(one) == TEAM_1
    assert json.loads(body) == TEAM_1
    assert body == TeamWithPowerfulHeroes.model_validate(TEAM_1).model_dump_json().encode()
    assert json.loads(listed)[0] == TEAM_1 and len(json.loads(listed)) == 2
    assert json.loads(filtered) == [TEAM_1]
    assert [[hero["id"] for hero in power["heroes"]] for power in json.loads(powers)] == [
        [1, 4], [2, 4], [1, 4],
    ]


async def test_many_to_one_with_nested_collection(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.reader() as reader:
        heroes = await reader.project(RHero, HeroWithTeamAndMates).list()
        body = await reader.project(RHero, HeroWithTeamAndMates).get_json(2)
    assert heroes[0].team is not None and heroes[1].team is not None
    assert [hero.name for hero in heroes[0].team.heroes] == ["Deadpond", "Rusty-Man"]
    assert heroes[2].team is None
    assert json.loads(body)["team"]["heroes"][1]["name"] == "Rusty-Man"


async def test_self_referential_tree(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        with max_queries(rdb, 4) as log:
            root = await Repository(Category, session).project(CategoryTree).get_one(1)
    assert len(log) == 4  # the root, then one query per level below it, the last empty
    assert dumped(root) == {
        "id": 1,
        "name": "root",
        "children": [
            {"id": 3, "name": "a", "children": [{"id": 4, "name": "a1", "children": []}]},
            {"id": 2, "name": "b", "children": []},
        ],
    }
    async with rdb.reader() as reader:
        body = await reader.project(Category, CategoryTree).get_json(1)
        parents = await reader.project(Category, CategoryWithParent).list()
        leaf = await reader.project(Category, CategoryWithAncestors).get_one(4)
    assert json.loads(body) == dumped(root)
    assert [None if c.parent is None else c.parent.name for c in parents] == [
        None, "root", "root", "a",
    ]
    assert leaf.parent is not None and leaf.parent.parent is not None
    assert (leaf.parent.name, leaf.parent.parent.name, leaf.parent.parent.parent) == (
        "a", "root", None,
    )


async def test_pages_count_parents_not_collections(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        heroes = Repository(RHero, session)
        page = await heroes.project(HeroWithLevels).paginate(page=1, size=3)
        cursor = await heroes.project(HeroWithLevels).paginate_cursor(limit=2)
        after = await heroes.project(HeroWithLevels).paginate_cursor(
            limit=2, after=cursor.next_cursor
        )
        streamed = [hero async for hero in heroes.project(HeroWithPowers).stream(batch_size=3)]
    assert page.total == 4 and [hero.id for hero in page.items] == [1, 2, 3]
    assert [link.power.id for link in page.items[0].powers] == [1, 3]
    assert [hero.id for hero in cursor.items + after.items] == [1, 2, 3, 4]
    assert [len(hero.powers) for hero in after.items] == [0, 3]
    assert [len(hero.powers) for hero in streamed] == [2, 1, 0, 3]


async def test_no_parent_is_duplicated_by_a_collection(rdb: Database) -> None:
    await seed(rdb)
    async with rdb.session() as session:
        heroes = await Repository(RHero, session).project(HeroWithLevels).list(limit=10)
        page = await Repository(RPower, session).project(PowerWithHeroes).paginate(page=1, size=10)
    assert [hero.id for hero in heroes] == [1, 2, 3, 4]
    assert page.total == 3 and [power.id for power in page.items] == [1, 2, 3]


class HeroWithTags(SQLModel):
    id: int
    tags: list[BaseModel] = []


class HeroWithBadPower(SQLModel):
    id: int
    powers: list[BadPower] = []


class BadPower(SQLModel):
    id: int
    strength: int


HeroWithBadPower.model_rebuild()


class TeamWithBadHeroes(SQLModel):
    id: int
    heroes: list[HeroWithBadPower] = []


def test_a_projection_that_cannot_be_built_names_schema_and_field() -> None:
    with pytest.raises(TypeError, match=r"HeroWithTags\.tags is neither a column"):
        projection_for(RHero, HeroWithTags)
    with pytest.raises(
        TypeError, match=r"TeamWithBadHeroes\.heroes: HeroWithBadPower\.powers: BadPower\.strength"
    ):
        plan_projections([(RTeam, TeamWithBadHeroes)])
    # Nothing half-planned is kept: asking again fails the same way.
    with pytest.raises(TypeError, match=r"BadPower\.strength"):
        projection_for(RHero, HeroWithBadPower)


def test_a_collection_field_must_be_a_list() -> None:
    class HeroWithOnePower(SQLModel):
        id: int
        powers: HeroWithPowers | None = None

    with pytest.raises(TypeError, match=r"HeroWithOnePower\.powers: RHero\.powers is a collection"):
        projection_for(RHero, HeroWithOnePower)
