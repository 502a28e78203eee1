"""A user's module on the public API: every call's type is what a reader expects.

Checked by `mypy --strict` (tests/test_docs.py runs it; `make lint` too). Never imported by
pytest: `assert_type` is a no-op at run time, the checker does the asserting.
"""

from typing import Any, assert_type

from heroes.models import Hero, HeroCreate, HeroPublic, HeroPublicWithTeam, HeroUpdate, Team
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import CursorPage, Database, Page, Projected, Reader, Repository


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
    assert_type(
        await heroes.paginate(page=2, size=10, order_by=[Hero.name], load=[Hero.team]), Page[Hero]
    )
    assert_type(await heroes.paginate(col(Hero.age) > 30, size=10, team_id=1), Page[Hero])
    assert_type(await heroes.paginate_cursor(limit=50, order_by=[Hero.name]), CursorPage[Hero])
    assert_type(
        await heroes.paginate_cursor(col(Hero.age) > 30, limit=5, name="x"), CursorPage[Hero]
    )
    async for hero in heroes.stream(col(Hero.age) > 30, batch_size=100, team_id=1):
        assert_type(hero, Hero)
    async for row in heroes.stream_rows(batch_size=100, columns=["id", "name"]):
        assert_type(row, dict[str, Any])
    assert_type(await heroes.rows(col(Hero.age) > 30, columns=["id", "name"]), list[dict[str, Any]])
    assert_type(await heroes.tuples(order_by=(), limit=10), list[tuple[Any, ...]])
    assert_type(await heroes.list(order_by=()), list[Hero])

    # project(Schema): the schema's instances (or JSON), read straight from the rows.
    public = heroes.project(HeroPublic)
    assert_type(public, Projected[HeroPublic])
    assert_type(await public.get(1), HeroPublic | None)
    assert_type(await public.get_one(1), HeroPublic)
    assert_type(await public.first(name="Batman"), HeroPublic | None)
    assert_type(await public.list(col(Hero.age) > 30, limit=10), list[HeroPublic])
    assert_type(await public.count(team_id=1), int)
    assert_type(await public.exists(name="Batman"), bool)
    assert_type(await public.paginate(page=1, size=10), Page[HeroPublic])
    assert_type(await public.paginate_cursor(limit=10), CursorPage[HeroPublic])
    async for item in public.stream(batch_size=10):
        assert_type(item, HeroPublic)
    assert_type(await public.get_json(1), bytes)
    assert_type(await public.list_json(limit=10), bytes)
    assert_type(await public.paginate_json(page=1, size=10), bytes)
    assert_type(await public.paginate_cursor_json(limit=10), bytes)

    teams = Repository(Team, session)
    team = await teams.get_one(1, load=[(Team.heroes, Hero.items)])
    assert_type(team, Team)
    assert_type(team.heroes, list[Hero])


async def reads_without_a_session(db: Database) -> None:
    async with db.reader() as reader:
        assert_type(reader, Reader)
        heroes = reader.project(Hero, HeroPublicWithTeam)
        assert_type(heroes, Projected[HeroPublicWithTeam])
        assert_type(await heroes.get(1), HeroPublicWithTeam | None)
        assert_type(await heroes.get_one(1), HeroPublicWithTeam)
        assert_type(await heroes.list(limit=10), list[HeroPublicWithTeam])
        assert_type(
            await heroes.list(col(Hero.age) > 30, order_by=[Hero.name]),
            list[HeroPublicWithTeam],
        )
        assert_type(await heroes.paginate(page=2, size=5), Page[HeroPublicWithTeam])
        assert_type(await heroes.get_json(1), bytes)
        assert_type(await heroes.list_json(limit=10), bytes)


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
