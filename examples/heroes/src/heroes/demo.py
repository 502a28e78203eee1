"""`heroes demo`: the seed's complete example through the library.

It prints the seed's `main()` lines. Re-runnable: the demo's three heroes are replaced
each time, other heroes in the database are left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel_async import Database, Repository

from .models import Hero, HeroCreate, HeroPublic
from .services import HeroService

DEMO_HEROES = [
    HeroCreate(name="Superman", secret_name="Clark Kent", age=30, power_level=100),
    HeroCreate(name="Batman", secret_name="Bruce Wayne", age=35, power_level=90),
    HeroCreate(name="Wonder Woman", secret_name="Diana Prince", age=28, power_level=95),
]


async def run_demo(database: Database, echo: Callable[[str], object] = print) -> None:
    await database.create_all()
    service = HeroService(database)
    names = [hero.name for hero in DEMO_HEROES]
    async with database.transaction() as session:
        heroes = Repository(Hero, session)
        for old in await heroes.list(Hero.name.in_(names)):  # type: ignore[attr-defined]
            await heroes.delete(old.id)

    created = []
    for data in DEMO_HEROES:
        hero = await service.create(data)
        created.append(hero)
        echo(f"Created hero: {hero.name}")

    async with database.reader() as reader:
        found = await reader.project(Hero, HeroPublic).list(Hero.name.in_(names))  # type: ignore[attr-defined]
    echo(f"Retrieved {len(found)} heroes")

    assert created[0].id is not None
    updated = await service.update_power(created[0].id, 105.0)
    echo(f"Updated hero power: {updated.name} - {updated.power_level}")

    batman = await service.get_by_name("Batman")
    if batman is not None:
        echo(f"Found Batman: {batman.secret_name}")
