"""Single-row writes are one statement each; the database's values come back; set-based
update_where / delete_where; deletes follow the foreign keys' ON DELETE rules."""

import pytest
from heroes.models import Hero, HeroCreate, HeroUpdate, Item, Team

from sqlmodel_async import ConcurrentUpdateError, Database, InvalidDataError, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        teams, heroes = Repository(Team, session), Repository(Hero, session)
        preventers = await teams.create({"name": "Preventers", "headquarters": "Sharp Tower"})
        z_force = await teams.create({"name": "Z-Force", "headquarters": "Sister Margaret's"})

        # create: one INSERT ... RETURNING; key, defaults and version come back.
        hero = await heroes.create(
            HeroCreate(name="Deadpond", secret_name="Dive Wilson", team_id=preventers.id)
        )
        assert hero.id is not None and hero.version == 1 and hero.power_level == 50.0

        # update: one UPDATE ... WHERE id [AND version] RETURNING, no read first.
        hero = await heroes.update(hero.id, HeroUpdate(age=31))
        assert (hero.age, hero.version) == (31, 2)
        # A version the caller read earlier: refused if the row moved on since.
        with pytest.raises(ConcurrentUpdateError):
            await heroes.update(hero.id, {"age": 32, "version": 1})

        for name in ("Rusty-Man", "Spider-Boy"):
            await heroes.create({"name": name, "secret_name": "?", "team_id": preventers.id})

        # update_where: one UPDATE for every matching row; returns how many matched.
        moved = await heroes.update_where({"team_id": z_force.id}, team_id=preventers.id)
        assert moved == 3
        # An empty filter would write every row: refused unless you say all=True.
        with pytest.raises(InvalidDataError):
            await heroes.update_where({"age": 0})
        assert await heroes.update_where({"power_level": 60.0}, all=True) == 3

        # delete_where: one DELETE; the foreign keys' rules apply as for delete().
        assert await heroes.delete_where(Hero.name == "Spider-Boy") == 1

    async with db.transaction() as session:
        teams, heroes = Repository(Team, session), Repository(Hero, session)
        await Repository(Item, session).create({"name": "katana", "hero_id": hero.id})
        rusty = await heroes.first(name="Rusty-Man")
        assert rusty is not None and rusty.team_id == z_force.id

        # Hero.team_id is Field(foreign_key="team.id", ondelete="SET NULL"): deleting the
        # team keeps its heroes, teamless, in the database and in this session.
        assert await teams.delete(z_force.id) is True
        assert rusty.team_id is None

        # Item.hero_id is Field(foreign_key="hero.id", ondelete="CASCADE"): the items go
        # with their hero.
        assert await heroes.delete(hero.id) is True
        assert await Repository(Item, session).count() == 0
