"""stream_heroes_async and process_all_heroes_async: every row once, in bounded memory;
the changes are written through another session."""

from heroes.models import Hero

from sqlmodel_async import Database, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create_many(
            [{"name": f"Hero {n}", "secret_name": "s", "power_level": 50.0} for n in range(2500)]
        )

    # process_all_heroes_async: read in keyset batches on one session, write on another.
    seen = 0
    pending: list[dict[str, object]] = []
    async with db.session() as reader:
        async for hero in Repository(Hero, reader).stream(batch_size=1000):
            seen += 1
            pending.append({"id": hero.id, "power_level": hero.power_level + 1})
            if len(pending) == 1000:
                await save(db, pending)
                pending = []
    await save(db, pending)
    assert seen == 2500

    async with db.read_only() as session:
        assert await Repository(Hero, session).count(power_level=51.0) == 2500


async def save(db: Database, changes: list[dict[str, object]]) -> None:
    async with db.transaction() as writer:
        await Repository(Hero, writer).update_many(changes)
