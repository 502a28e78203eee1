"""Bulk writes: batch_create_heroes_async, bulk_update_heroes_async,
bulk_delete_heroes_async, bulk_upsert_heroes_async, each one call on every backend."""

from heroes.models import Hero, HeroCreate

from sqlmodel_async import Database, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)

        # batch_create_heroes_async: one statement per chunk; keys come back in input order.
        created = await heroes.create_many(
            [HeroCreate(name=f"Hero {n}", secret_name=f"secret {n}") for n in range(1000)]
        )
        assert [hero.name for hero in created[:2]] == ["Hero 0", "Hero 1"]
        ids = [hero.id for hero in created]
        # Not interested in the keys: the fastest path (COPY on PostgreSQL) returns a count.
        more = [{"name": f"Extra {n}", "secret_name": "x"} for n in range(1000)]
        assert await heroes.create_many(more, returning=False) == 1000

        # bulk_update_heroes_async: rows carry their primary key; rows may set other fields.
        changes: list[dict[str, object]] = [{"id": key, "age": 30} for key in ids[:500]]
        changes.append({"id": ids[500], "power_level": 99.0})
        assert await heroes.update_many(changes) == 501

        # bulk_upsert_heroes_async: insert or update on a unique key, on every backend.
        upserted = await heroes.upsert_many(
            [{"name": "Hero 0", "secret_name": "changed"}, {"name": "New", "secret_name": "n"}],
            conflict=[Hero.name],
        )
        assert upserted == 2

        # bulk_delete_heroes_async: any number of ids, under each driver's parameter limit.
        assert await heroes.delete_many(ids[1:]) == 999

    async with db.read_only() as session:
        heroes = Repository(Hero, session)
        assert await heroes.count() == 1000 + 1 + 1  # Hero 0, the extras, New
        hero_0 = await heroes.first(name="Hero 0")
        assert hero_0 is not None and (hero_0.secret_name, hero_0.age) == ("changed", 30)
