"""`async with session.begin()` and `begin_nested()` savepoints, on every backend."""

from heroes.models import Hero
from sqlmodel import col

from sqlmodel_async import Database, Repository


async def main(db: Database) -> None:
    # begin() on a fresh session: nothing has autobegun yet (the seed's
    # "A transaction is already begun" comes from calling it after a query).
    async with db.session() as session, session.begin():
        session.add(Hero(name="Outer", secret_name="o"))
        try:
            async with session.begin_nested():  # SAVEPOINT
                session.add(Hero(name="Inner", secret_name="i"))
                raise RuntimeError("roll back the savepoint only")
        except RuntimeError:
            pass
        session.add(Hero(name="After", secret_name="a"))
    # Leaving begin() committed Outer and After; Inner went with its savepoint.

    async with db.session() as session:
        heroes = await Repository(Hero, session).list(order_by=[col(Hero.name)])
    names = [hero.name for hero in heroes]
    assert names == ["After", "Outer"]
