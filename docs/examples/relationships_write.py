"""Writing a many-to-many: a hero created with its powers in one call, its powers
replaced, added to and removed, each call all-or-nothing."""

import pytest
from heroes.models import (
    Hero,
    HeroCreateWithPowers,
    HeroPowerLink,
    HeroPowerPublic,
    Power,
    PowerLink,
)

from sqlmodel_async import Database, ForeignKeyError, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        powers = await Repository(Power, session).create_many(
            [{"name": "strength"}, {"name": "speed"}, {"name": "flight"}]
        )
        strength, speed, flight = [power.id for power in powers]
        assert strength and speed and flight

    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        # A Create schema whose `powers` field is named after the many-to-many: the hero
        # and its links are written together (links=... keywords work as well).
        hero = await heroes.create_with_links(HeroCreateWithPowers(
            name="Deadpond", secret_name="Dive Wilson",
            powers=[PowerLink(power_id=flight, level=5)],
        ))
        assert hero.id is not None
        # Replace them all: mappings of the link's columns, or far keys alone.
        await heroes.set_links(hero.id, Hero.powers, [
            {"power_id": strength, "level": 2}, {"power_id": speed, "level": 7},
        ])
        # Adding a link that exists keeps it once, with the level given now.
        await heroes.add_links(hero.id, Hero.powers, [{"power_id": speed, "level": 8}])
        assert await heroes.remove_links(hero.id, Hero.powers, [strength]) == 1

        # An unknown power is named, and nothing of that call is written.
        with pytest.raises(ForeignKeyError) as refused:
            await heroes.set_links(hero.id, Hero.powers, [flight, 4242])
        assert refused.value.column == "power_id" and "4242" in str(refused.value)

    async with db.reader() as reader:
        # The link rows, each with its power: what GET /heroes/{id}/powers answers.
        links = await reader.project(HeroPowerLink, HeroPowerPublic).list(
            order_by=[HeroPowerLink.power_id], hero_id=hero.id
        )
    assert [(link.power.name, link.level) for link in links] == [("speed", 8)]
