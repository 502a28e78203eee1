"""AsyncHeroService and the seed's complete example (`main`): a typed service on
`Database` and `Repository`, taking validated schemas, never a dict."""

from collections.abc import Callable

from heroes.models import Hero, HeroCreate, HeroUpdate
from sqlmodel import col

from sqlmodel_async import Database, Repository


class HeroService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_hero(self, data: HeroCreate) -> Hero:
        async with self.db.transaction() as session:
            return await Repository(Hero, session).create(data)

    async def get_heroes(self, limit: int = 100) -> list[Hero]:
        async with self.db.session() as session:
            return await Repository(Hero, session).list(limit=limit)

    async def get_hero_by_name(self, name: str) -> Hero | None:
        async with self.db.session() as session:
            return await Repository(Hero, session).first(name=name)

    async def update_hero_power(self, hero_id: int, power_level: float) -> Hero:
        async with self.db.transaction() as session:
            return await Repository(Hero, session).update(
                hero_id, HeroUpdate(power_level=power_level)
            )


async def main(db: Database, echo: Callable[[str], object] = print) -> None:
    await db.create_all()  # init_db
    service = HeroService(db)
    created = []
    for data in [
        HeroCreate(name="Superman", secret_name="Clark Kent", age=30, power_level=100),
        HeroCreate(name="Batman", secret_name="Bruce Wayne", age=35, power_level=90),
        HeroCreate(name="Wonder Woman", secret_name="Diana Prince", age=28, power_level=95),
    ]:
        hero = await service.create_hero(data)
        created.append(hero)
        echo(f"Created hero: {hero.name}")

    heroes = await service.get_heroes()
    echo(f"Retrieved {len(heroes)} heroes")

    assert created[0].id is not None
    updated = await service.update_hero_power(created[0].id, 105.0)
    echo(f"Updated hero power: {updated.name} - {updated.power_level}")

    batman = await service.get_hero_by_name("Batman")
    if batman is not None:
        echo(f"Found Batman: {batman.secret_name}")

    async with db.session() as session:  # close(): the scopes return their connections
        assert await Repository(Hero, session).count(col(Hero.power_level) > 100) == 1
