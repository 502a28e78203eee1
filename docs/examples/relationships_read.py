"""Response schemas over relationships: a many-to-many, its link rows with their data, and
three levels of nesting, read straight from rows with one query per level."""

from heroes.models import (
    Hero,
    HeroPowerLink,
    HeroPowerPublic,
    HeroPublic,
    Power,
    PowerPublic,
    PowerPublicWithHeroes,
    Team,
    TeamPublic,
)

from sqlmodel_async import Database, Repository


class HeroWithPowerNames(HeroPublic):
    # Hero.powers goes through the link table: PowerPublic has Power's fields, so the
    # field holds the powers themselves.
    powers: list[PowerPublic] = []


class HeroWithPowers(HeroPublic):
    # HeroPowerPublic has the link model's fields (level, and its `power`): the field
    # holds the link rows, each with its power nested.
    powers: list[HeroPowerPublic] = []


class TeamWithPowers(TeamPublic):
    heroes: list[HeroWithPowers] = []


async def main(db: Database) -> None:
    async with db.transaction() as session:
        team = Team(name="Preventers", headquarters="Sharp Tower")
        deadpond = Hero(name="Deadpond", secret_name="Dive Wilson", team=team)
        rusty = Hero(name="Rusty-Man", secret_name="Tommy Sharp", team=team)
        strength, flight = Power(name="strength"), Power(name="flight")
        session.add_all([team, deadpond, rusty, strength, flight])
        await session.flush()
        assert deadpond.id and rusty.id and strength.id and flight.id
        session.add_all([
            HeroPowerLink(hero_id=deadpond.id, power_id=flight.id, level=5),
            HeroPowerLink(hero_id=deadpond.id, power_id=strength.id, level=2),
            HeroPowerLink(hero_id=rusty.id, power_id=strength.id, level=9),
        ])

    async with db.session() as session:
        # The far rows of a many-to-many, by the far side's key (no order_by declared).
        hero = await Repository(Hero, session).project(HeroWithPowerNames).get_one(deadpond.id)
        assert [power.name for power in hero.powers] == ["strength", "flight"]

        # Three levels, three queries whatever the number of teams, heroes and powers:
        # the teams, all their heroes, all those heroes' links joined to their powers.
        [loaded] = await Repository(Team, session).project(TeamWithPowers).list()
        assert [(h.name, [(p.power.name, p.level) for p in h.powers]) for h in loaded.heroes] == [
            ("Deadpond", [("strength", 2), ("flight", 5)]),
            ("Rusty-Man", [("strength", 9)]),
        ]

        # Pages count the parents: collections never multiply them.
        page = await Repository(Hero, session).project(HeroWithPowers).paginate(page=1, size=10)
        assert page.total == 2

    # The session-less reader writes the JSON straight from the rows, nested and all.
    async with db.reader() as reader:
        body = await reader.project(Power, PowerPublicWithHeroes).get_json(strength.id)
    assert body.startswith(b'{"name":"strength","id":')
    assert b'"heroes":[{"level":2,"hero":{"name":"Deadpond"' in body
