"""Exact text: "Victim" and "Victim " are two hero names on every backend.

The Heroes model declares its unique name `Field(sa_type=ExactText(255), unique=True)`.
"""

from heroes.models import Hero

from sqlmodel_async import Database, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "Victim", "secret_name": "the real one"})
        # An upsert on the unique name: with a trailing space it is another name, so it
        # creates a hero instead of overwriting the victim (as MariaDB's padding did).
        await heroes.upsert_many(
            [{"name": "Victim ", "secret_name": "an impostor"}], conflict=["name"]
        )

    async with db.session() as session:
        heroes = Repository(Hero, session)
        victim = await heroes.first(name="Victim")
        assert victim is not None and victim.secret_name == "the real one"
        assert await heroes.count() == 2
        print(f"{await heroes.count()} heroes: {victim.name!r} kept its secret name")
