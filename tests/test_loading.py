"""load= eager loading, de-duplicated joined collections, and the lazy-load guard."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import joinedload, selectinload

from sqlmodel_async import Database, LazyLoadError, Repository, loader_options

from .models import Hero, Item, Team


async def seed_roster(db: Database) -> tuple[int, int]:
    """Team with two heroes; the first hero has two items. Returns (team id, hero id)."""
    async with db.transaction() as session:
        team = await Repository(Team, session).create({"name": "Preventers", "headquarters": "S"})
        heroes = Repository(Hero, session)
        a = await heroes.create({"name": "A", "secret_name": "a", "team_id": team.id})
        await heroes.create({"name": "B", "secret_name": "b", "team_id": team.id})
        items = Repository(Item, session)
        await items.create({"name": "sword", "hero_id": a.id})
        await items.create({"name": "shield", "hero_id": a.id})
        assert team.id is not None and a.id is not None
        return team.id, a.id


async def test_many_to_one_is_loaded(db: Database) -> None:
    _, hero_id = await seed_roster(db)
    async with db.session() as session:
        hero = await Repository(Hero, session).get_one(hero_id, load=[Hero.team])
        listed = await Repository(Hero, session).list(load=[Hero.team])
    # read after the session closed: nothing may need a query
    assert hero.team is not None and hero.team.name == "Preventers"
    assert [h.team.name for h in listed] == ["Preventers", "Preventers"]  # type: ignore[union-attr]


async def test_collection_and_nested_path_are_loaded(db: Database) -> None:
    team_id, _ = await seed_roster(db)
    async with db.session() as session:
        team = await Repository(Team, session).get_one(team_id, load=[(Team.heroes, Hero.items)])
    assert [h.name for h in team.heroes] == ["A", "B"]
    assert sorted(i.name for i in team.heroes[0].items) == ["shield", "sword"]
    assert team.heroes[1].items == []


async def test_joined_collection_is_deduplicated(db: Database) -> None:
    team_id, _ = await seed_roster(db)
    async with db.session() as session:
        teams = Repository(Team, session)
        listed = await teams.list(load=[joinedload(Team.heroes)])  # type: ignore[arg-type]
        first = await teams.first(load=[joinedload(Team.heroes)])  # type: ignore[arg-type]
        many = await teams.get_many([team_id], load=[joinedload(Team.heroes)])  # type: ignore[arg-type]
    assert len(listed) == 1 and len(listed[0].heroes) == 2
    assert first is not None and len(first.heroes) == 2
    assert len(many) == 1 and len(many[0].heroes) == 2


async def test_lazy_load_outside_await_names_the_relationship_and_fix(db: Database) -> None:
    _, hero_id = await seed_roster(db)
    async with db.session() as session:
        hero = await Repository(Hero, session).get_one(hero_id)
        with pytest.raises(LazyLoadError) as caught:
            _ = hero.team
        message = str(caught.value)
        assert "Hero.team" in message
        assert "load=[Hero.team]" in message
        assert "selectinload" in message
        with pytest.raises(LazyLoadError, match=r"Hero\.items"):
            _ = hero.items
        # the session is still fine: the guarded attribute can be loaded properly
        await session.refresh(hero, ["team"])
        assert hero.team is not None


async def test_get_with_load_on_an_object_already_in_the_session(db: Database) -> None:
    team_id, _ = await seed_roster(db)
    async with db.session() as session:
        teams = Repository(Team, session)
        plain = await teams.get_one(team_id)  # now in the identity map, heroes not loaded
        loaded = await teams.get_one(team_id, load=[Team.heroes])
        assert loaded is plain
        assert [h.name for h in loaded.heroes] == ["A", "B"]


async def test_load_refuses_what_is_not_a_relationship() -> None:
    with pytest.raises(TypeError, match="relationship"):
        loader_options([Hero.name])
    with pytest.raises(TypeError, match="empty path"):
        loader_options([()])
    option = selectinload(Hero.items)  # type: ignore[arg-type]
    assert loader_options([option]) == [option]
