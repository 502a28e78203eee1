"""CRUD: create_hero_async, get_heroes_async, get_hero_by_id_async, get_hero_by_name,
update_hero_async, delete_hero_async: one Repository call each."""

import pytest
from heroes.models import Hero, HeroCreate, HeroUpdate

from sqlmodel_async import Database, InvalidDataError, NotFoundError, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)

        # create_hero_async: from a validated Create schema; the id comes back.
        hero = await heroes.create(HeroCreate(name="Deadpond", secret_name="Dive Wilson"))
        assert hero.id is not None
        await heroes.create(HeroCreate(name="Rusty-Man", secret_name="Tommy Sharp", age=48))

        # get_heroes_async: ordered (by primary key unless you say), offset/limit.
        assert [h.name for h in await heroes.list(offset=0, limit=100)] == [
            "Deadpond", "Rusty-Man",
        ]

        # get_hero_by_id_async: None when missing; get_one() raises NotFoundError instead.
        assert await heroes.get(hero.id) is hero
        assert await heroes.get(-1) is None
        with pytest.raises(NotFoundError):
            await heroes.get_one(-1)

        # get_hero_by_name
        rusty = await heroes.first(name="Rusty-Man")
        assert rusty is not None and rusty.age == 48

        # update_hero_async: only the fields the client sent change; the id never does.
        updated = await heroes.update(hero.id, HeroUpdate(age=31))
        assert (updated.age, updated.secret_name) == (31, "Dive Wilson")
        with pytest.raises(InvalidDataError):
            await heroes.update(hero.id, {"id": hero.id + 1000})

        # delete_hero_async: True if a row was deleted.
        assert await heroes.delete(hero.id) is True
        assert await heroes.delete(hero.id) is False
        assert await heroes.count() == 1
