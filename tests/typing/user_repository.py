"""A user's module on the public API: every call's type is what a reader expects.

Checked by `mypy --strict` (tests/test_docs.py runs it; `make lint` too). Never imported by
pytest: `assert_type` is a no-op at run time, the checker does the asserting.
"""

from typing import assert_type

from heroes.models import Hero, HeroCreate, HeroPublic, HeroUpdate, Team
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import CursorPage, Database, Page, Reader, Repository


async def reads(session: AsyncSession) -> None:
    heroes = Repository(Hero, session)
    assert_type(heroes, Repository[Hero])
    assert_type(await heroes.get(1), Hero | None)
    assert_type(await heroes.get(1, load=[Hero.team]), Hero | None)
    assert_type(await heroes.get_one(1, load=[Hero.team, Hero.items]), Hero)
    assert_type(await heroes.get_many([3, 1, 2]), list[Hero])
    assert_type(await heroes.list(), list[Hero])
    assert_type(
        await heroes.list(col(Hero.age) > 30, order_by=[Hero.name], offset=0, limit=10),
        list[Hero],
    )
    assert_type(await heroes.list(order_by=[col(Hero.name).desc()]), list[Hero])
    assert_type(await heroes.first(name="Batman"), Hero | None)
    assert_type(await heroes.count(), int)
    assert_type(await heroes.exists(name="Batman"), bool)
    assert_type(await heroes.paginate(page=1, size=50), Page[Hero])
    assert_type(await heroes.paginate(2, 10, order_by=[Hero.name], load=[Hero.team]), Page[Hero])
    assert_type(await heroes.paginate_cursor(limit=50, order_by=[Hero.name]), CursorPage[Hero])
    async for hero in heroes.stream(batch_size=100):
        assert_type(hero, Hero)

    # as_=Schema: the schema's instances, read straight from the rows.
    assert_type(await heroes.get(1, as_=HeroPublic), HeroPublic | None)
    assert_type(await heroes.list(limit=10, as_=HeroPublic), list[HeroPublic])
    assert_type(await heroes.first(name="Batman", as_=HeroPublic), HeroPublic | None)
    assert_type(await heroes.paginate(1, 10, as_=HeroPublic), Page[HeroPublic])
    assert_type(await heroes.paginate_cursor(10, as_=HeroPublic), CursorPage[HeroPublic])

    teams = Repository(Team, session)
    team = await teams.get_one(1, load=[(Team.heroes, Hero.items)])
    assert_type(team, Team)
    assert_type(team.heroes, list[Hero])


async def reads_without_a_session(db: Database) -> None:
    async with db.reader() as reader:
        assert_type(reader, Reader)
        assert_type(await reader.get(Hero, 1, as_=HeroPublic), HeroPublic | None)
        assert_type(await reader.get_one(Hero, 1, as_=HeroPublic), HeroPublic)
        assert_type(await reader.list(Hero, limit=10, as_=HeroPublic), list[HeroPublic])
        assert_type(await reader.get_json(Hero, 1, as_=HeroPublic), bytes)
        assert_type(await reader.list_json(Hero, limit=10, as_=HeroPublic), bytes)
        assert_type(
            await reader.list(Hero, col(Hero.age) > 30, order_by=[Hero.name], as_=HeroPublic),
            list[HeroPublic],
        )


async def writes(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        assert_type(await heroes.create(HeroCreate(name="A", secret_name="a")), Hero)
        assert_type(await heroes.create({"name": "B", "secret_name": "b"}), Hero)
        assert_type(await heroes.update(1, HeroUpdate(age=31)), Hero)
        assert_type(await heroes.delete(1), bool)
        rows = [HeroCreate(name="C", secret_name="c")]
        assert_type(await heroes.create_many(rows), list[Hero])
        assert_type(await heroes.create_many(rows, returning=True), list[Hero])
        assert_type(await heroes.create_many(rows, returning=False), int)
        assert_type(await heroes.update_many([{"id": 1, "age": 32}]), int)
        assert_type(await heroes.upsert_many(rows, conflict=[Hero.name]), int)
        assert_type(await heroes.delete_many([1, 2]), int)


async def work(session: AsyncSession) -> Hero:
    return await Repository(Hero, session).get_one(1)


async def units(db: Database) -> None:
    assert_type(await db.run_in_transaction(work), Hero)
    async with db.read_only() as session:
        assert_type(session, AsyncSession)
