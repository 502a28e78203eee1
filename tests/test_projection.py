"""Schema-driven reads (`project(Schema)`, projection.py) on every backend: each read shape gives
exactly what `Schema.model_validate(orm_instance)` gives, in the expected number of
statements, without ORM instances."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from sqlmodel_async import Database, NotFoundError, Repository

from .models import Hero, Team
from .schemas import (
    HeroConverted,
    HeroPublic,
    HeroPublicWithTeam,
    HeroShouting,
    HeroTeamFirst,
    TeamPublicWithHeroes,
    TeamRoster,
)
from .support.recorders import queries
from .support.seeds import sort_collections
from .support.seeds import teams_heroes_and_items as seed


class HeroWithNickname(HeroPublic):
    nickname: str = ""


def expected(schema: type[BaseModel], instance: Any) -> Any:
    """What the ORM path gives: the schema validated from the loaded instance."""
    return schema.model_validate(instance, from_attributes=True)


def same(left: Any, right: Any) -> None:
    assert left == right
    assert left.model_dump_json() == right.model_dump_json()
    assert type(left) is type(right)


# --- the read shapes --------------------------------------------------------------------


async def test_get_many_to_one_in_one_statement(db: Database) -> None:
    data = await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        for hero_id in data["heroes"]:
            with queries(db, starting="SELECT") as selects:
                projected = await heroes.project(HeroPublicWithTeam).get(hero_id)
            assert len(selects) == 1
            assert len(session.identity_map) == 0  # no ORM instance was made
            orm = await heroes.get(hero_id, load=[Hero.team])
            same(projected, expected(HeroPublicWithTeam, orm))
            session.expunge_all()
        # the last heroes have no team: a null many-to-one
        assert projected is not None and projected.team is None
        assert await heroes.project(HeroPublicWithTeam).get(-1) is None


async def test_get_one_and_collections_in_two_statements(db: Database) -> None:
    data = await seed(db)
    async with db.session() as session:
        teams = Repository(Team, session)
        for team_id, size in ((data["full"], 3), (data["empty"], 0)):
            with queries(db, starting="SELECT") as selects:
                projected = await teams.project(TeamPublicWithHeroes).get_one(team_id)
            assert len(selects) == 2  # the team, then its heroes (none or many)
            assert len(projected.heroes) == size
            orm = sort_collections(await teams.get_one(team_id, load=[Team.heroes]))
            same(projected, expected(TeamPublicWithHeroes, orm))
            session.expunge_all()
        with pytest.raises(NotFoundError):
            await teams.project(TeamPublicWithHeroes).get_one(-1)


async def test_list_and_first(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        with queries(db, starting="SELECT") as selects:
            projected = await heroes.project(HeroPublicWithTeam).list(
                Hero.power_level > 5, order_by=[Hero.name], limit=3,  # type: ignore[arg-type,operator]
            )
        assert len(selects) == 1
        orm = await heroes.list(
            Hero.power_level > 5, order_by=[Hero.name], limit=3, load=[Hero.team],  # type: ignore[arg-type,operator]
        )
        assert len(projected) == 3
        for left, right in zip(projected, orm, strict=True):
            same(left, expected(HeroPublicWithTeam, right))
        session.expunge_all()
        first = await heroes.project(HeroPublic).first(team_id=None)
        orm_first = await heroes.first(team_id=None)
        assert first is not None
        same(first, expected(HeroPublic, orm_first))
        assert await heroes.project(HeroPublic).first(name="nobody") is None


async def test_list_collections_one_query_for_all_parents(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        teams = Repository(Team, session)
        with queries(db, starting="SELECT") as selects:
            projected = await teams.project(TeamPublicWithHeroes).list()
        assert len(selects) == 2
        orm = await teams.list(load=[Team.heroes])
        assert [p.id for p in projected] == [o.id for o in orm]
        for left, right in zip(projected, orm, strict=True):
            same(left, expected(TeamPublicWithHeroes, sort_collections(right)))


async def test_nested_collections(db: Database) -> None:
    data = await seed(db)
    async with db.session() as session:
        teams = Repository(Team, session)
        with queries(db, starting="SELECT") as selects:
            projected = await teams.project(TeamRoster).get_one(data["full"])
        assert len(selects) == 3  # team, its heroes, their items
        orm = await teams.get_one(data["full"], load=[(Team.heroes, Hero.items)])
        same(projected, expected(TeamRoster, sort_collections(orm)))
        assert sum(len(hero.items) for hero in projected.heroes) == 3


async def test_paginate(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        for page in (1, 2, 3):
            projected = await heroes.project(HeroPublicWithTeam).paginate(page=page, size=2)
            orm = await heroes.paginate(page=page, size=2, load=[Hero.team])
            assert (projected.total, projected.pages) == (orm.total, orm.pages) == (5, 3)
            assert projected.items == [expected(HeroPublicWithTeam, h) for h in orm.items]
            session.expunge_all()


async def test_paginate_cursor(db: Database) -> None:
    await seed(db)
    secret = "s" * 32
    async with db.session() as session:
        heroes = Repository(Hero, session)
        order = [Hero.age.desc()]  # type: ignore[union-attr]  # not in the schema, NULLs
        projected: list[Any] = []
        orm: list[Any] = []
        after_p = after_o = None
        for _ in range(4):
            page_p = await heroes.project(HeroPublic).paginate_cursor(
                limit=2, after=after_p, order_by=order, secret=secret
            )
            page_o = await heroes.paginate_cursor(
                limit=2, after=after_o, order_by=order, secret=secret
            )
            assert page_p.next_cursor == page_o.next_cursor
            projected += page_p.items
            orm += [expected(HeroPublic, h) for h in page_o.items]
            after_p, after_o = page_p.next_cursor, page_o.next_cursor
            if after_p is None:
                break
        assert after_p is None and len(projected) == 5
        assert projected == orm


async def test_stream(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        with queries(db, starting="SELECT") as selects:
            projected = [h async for h in heroes.project(HeroPublicWithTeam).stream(batch_size=2)]
        assert len(selects) == 3  # 2 + 2 + 1 rows
        orm = await heroes.list(load=[Hero.team])
        assert projected == [expected(HeroPublicWithTeam, h) for h in orm]
        by_team = Repository(Team, session).project(TeamPublicWithHeroes)
        teams = [t async for t in by_team.stream(batch_size=1)]
        orm_teams = await Repository(Team, session).list(load=[Team.heroes])
        assert teams == [expected(TeamPublicWithHeroes, sort_collections(t)) for t in orm_teams]


async def test_converted_fields_are_validated(db: Database) -> None:
    data = await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        projected = await heroes.project(HeroConverted).list()
        orm = await heroes.list()
        assert projected == [expected(HeroConverted, h) for h in orm]
        assert isinstance(projected[1].age, float)
        shouting = await heroes.project(HeroShouting).list()
        assert shouting == [expected(HeroShouting, h) for h in orm]
        assert shouting[0].name == "HERO 0"
        first = await heroes.project(HeroTeamFirst).get_one(data["heroes"][0])
        assert list(first.model_dump()) == ["team", "name", "id"]
        same(first, expected(HeroTeamFirst, await heroes.get_one(first.id, load=[Hero.team])))


async def test_unwritten_changes_are_seen(db: Database) -> None:
    """As the ORM's own reads: pending objects are flushed before the query."""
    await seed(db)
    async with db.session() as session:
        session.add(Hero(name="Pending", secret_name="P"))
        found = await Repository(Hero, session).project(HeroPublic).first(name="Pending")
        assert found is not None and found.name == "Pending"


async def test_bad_schemas_are_type_errors(db: Database) -> None:
    async with db.session() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(TypeError, match=r"HeroWithNickname\.nickname"):
            await heroes.project(HeroWithNickname).list()
        with pytest.raises(TypeError, match="load"):
            await heroes.project(HeroPublic).get(1, load=[Hero.team])  # type: ignore[call-arg]
