"""A bulk call is all or nothing, and a refused one leaves your transaction usable."""

from heroes.models import Hero
from sqlmodel import col

from sqlmodel_async import Database, DuplicateKeyError, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "Deadpond", "secret_name": "Dive Wilson"})
        try:
            # The last row's name is taken: none of the three rows is written.
            await heroes.create_many([
                {"name": "Rusty-Man", "secret_name": "Tommy Sharp"},
                {"name": "Spider-Boy", "secret_name": "Pedro Parqueador"},
                {"name": "Deadpond", "secret_name": "someone else"},
            ])
        except DuplicateKeyError as error:
            assert error.column == "name"
        # The transaction goes on with Deadpond in it, on PostgreSQL too (where a refused
        # statement would otherwise abort the whole transaction).
        await heroes.create({"name": "Black Lion", "secret_name": "Trevor Challa"})

    async with db.session() as session:
        stored = await Repository(Hero, session).list(order_by=[col(Hero.name)])
    assert [hero.name for hero in stored] == ["Black Lion", "Deadpond"]
