from sqlmodel_async import Database, Repository

from .models import Hero


async def test_create_and_get(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create({"name": "Deadpond", "secret_name": "Dive"})
    async with db.session() as session:
        found = await Repository(Hero, session).get(hero.id)
    assert found is not None and found.name == "Deadpond"
