"""Bulk calls on a link table whose primary key is two columns."""

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select

from sqlmodel_async import Database, InvalidDataError, Repository


class Links(SQLModel, registry=registry()):
    """The link table lives in its own metadata here, next to the Heroes tables."""


class HeroPower(Links, table=True):
    __tablename__ = "docs_hero_power"

    hero_id: int = Field(primary_key=True)
    power_id: int = Field(primary_key=True)
    level: int = 1


async def main(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(Links.metadata.create_all)
    try:
        async with db.transaction() as session:
            links = Repository(HeroPower, session)
            await links.create_many(
                [{"hero_id": h, "power_id": p} for h in (1, 2) for p in (1, 2, 3)],
                returning=False,
            )
            # Rows carry every key column; without conflict= upsert_many matches on the
            # primary key: (1, 1) is updated, (3, 1) is inserted.
            await links.upsert_many([
                {"hero_id": 1, "power_id": 1, "level": 5},
                {"hero_id": 3, "power_id": 1, "level": 2},
            ])
            await links.update_many([{"hero_id": 2, "power_id": 3, "level": 9}])
            # One key per row: a tuple in the mapper's key order, or a mapping by name.
            assert await links.delete_many([(1, 2), {"hero_id": 2, "power_id": 1}]) == 2
            try:
                await links.delete_many([1])  # one value for a two-column key
            except InvalidDataError as error:
                assert error.column == "hero_id, power_id"

        async with db.session() as session:
            order = [col(HeroPower.hero_id), col(HeroPower.power_id)]
            rows = (await session.exec(select(HeroPower).order_by(*order))).all()
        assert [(r.hero_id, r.power_id, r.level) for r in rows] == [
            (1, 1, 5), (1, 3, 1), (2, 2, 1), (2, 3, 9), (3, 1, 2),
        ]
    finally:
        async with db.engine.begin() as connection:
            await connection.run_sync(Links.metadata.drop_all)
