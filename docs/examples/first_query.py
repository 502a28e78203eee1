"""Getting started: a Database, a transaction that writes, a read-only scope that reads."""

from heroes.models import Hero, HeroCreate, Team, TeamCreate

from sqlmodel_async import Database, Repository


async def main(db: Database) -> None:
    await db.create_all()  # the tables of SQLModel.metadata that do not exist yet

    async with db.transaction() as session:  # commits at the end, or rolls back and re-raises
        team = await Repository(Team, session).create(
            TeamCreate(name="Preventers", headquarters="Sharp Tower")
        )
        hero = await Repository(Hero, session).create(
            HeroCreate(name="Deadpond", secret_name="Dive Wilson", team_id=team.id)
        )

    async with db.read_only() as session:  # the database itself refuses writes here
        found = await Repository(Hero, session).get_one(hero.id, load=[Hero.team])

    assert found.team is not None and found.team.name == "Preventers"
    print(f"{found.name} is in {found.team.name}")
