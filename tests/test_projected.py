"""`Projected[Schema]` (projected.py) on every backend, through a session and through a
Reader: every read gives what the ORM path validated into the schema gives, and every JSON
form the bytes FastAPI writes for the matching `response_model`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter
from sqlmodel import SQLModel

from sqlmodel_async import (
    CursorPage,
    Database,
    InvalidPageError,
    NotFoundError,
    Page,
    Projected,
    Repository,
)
from sqlmodel_async.projected import plan_for

from .models import Hero, Team

SECRET = "projected-tests-secret-0123456789"
SOURCES = ["session", "reader"]


class TeamPublic(SQLModel):
    id: int
    name: str


class HeroPublic(SQLModel):
    id: int
    name: str
    age: int | None
    team_id: int | None


class HeroPublicWithTeam(HeroPublic):
    team: TeamPublic | None = None


class TeamPublicWithHeroes(TeamPublic):
    heroes: list[HeroPublic] = []


Project = Callable[[type[Any], type[Any]], Projected[Any]]


@asynccontextmanager
async def projector(db: Database, source: str) -> AsyncIterator[Project]:
    """`project(Model, Schema)` through a session or through a Reader."""
    if source == "session":
        async with db.session() as session:
            yield lambda model, schema: Repository(model, session).project(schema)
    else:
        async with db.reader() as reader:
            yield reader.project


async def seed(db: Database) -> dict[str, Any]:
    """Two teams; ten heroes, ages 0..9, the even ones on the first team."""
    async with db.transaction() as session:
        red, blue = Team(name="Red", headquarters="R"), Team(name="Blue", headquarters="B")
        session.add_all([red, blue])
        await session.flush()
        heroes = [
            Hero(name=f"Hero {n}", secret_name="s", age=n, team_id=red.id if n % 2 == 0 else None)
            for n in range(10)
        ]
        session.add_all(heroes)
        await session.flush()
        return {"red": red.id, "blue": blue.id, "heroes": [hero.id for hero in heroes]}


def validated(schema: type[BaseModel], instances: Any) -> Any:
    if isinstance(instances, list):
        return [schema.model_validate(i, from_attributes=True) for i in instances]
    return None if instances is None else schema.model_validate(instances, from_attributes=True)


async def fastapi_bytes(response_model: Any, value: Any) -> bytes:
    """What FastAPI itself sends for `value` under `response_model=`."""
    app = FastAPI()

    @app.get("/", response_model=response_model)
    async def endpoint() -> Any:
        return value

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return (await client.get("/")).content


@pytest.mark.parametrize("source", SOURCES)
async def test_reads_give_what_the_orm_path_gives(db: Database, source: str) -> None:
    data = await seed(db)
    first, last = data["heroes"][0], data["heroes"][-1]
    async with db.session() as session:
        orm = Repository(Hero, session)
        everyone = validated(HeroPublicWithTeam, await orm.list(load=[Hero.team]))
        session.expunge_all()
        red_team = await Repository(Team, session).get_one(data["red"], load=[Team.heroes])
        red_team.heroes.sort(key=lambda hero: hero.id or 0)
        red = validated(TeamPublicWithHeroes, red_team)
    async with projector(db, source) as project:
        heroes = project(Hero, HeroPublicWithTeam)
        assert await heroes.get(first) == everyone[0]
        assert await heroes.get(-1) is None
        assert await heroes.get_one(last) == everyone[-1]
        with pytest.raises(NotFoundError):
            await heroes.get_one(-1)
        assert await heroes.list() == everyone
        assert await heroes.list(offset=2, limit=3) == everyone[2:5]
        older = await heroes.list(Hero.age > 4, order_by=[Hero.age.desc()], team_id=None)  # type: ignore[operator,union-attr]
        assert [hero.age for hero in older] == [9, 7, 5]
        assert (await heroes.first(Hero.age > 6)) == everyone[7]  # type: ignore[operator]
        assert await heroes.first(name="nobody") is None
        assert await heroes.count() == 10
        assert await heroes.count(Hero.age >= 5, team_id=data["red"]) == 2  # type: ignore[operator]
        # A filter on the joined table counts what list() lists.
        assert await heroes.count(Team.name == "Red") == 5
        assert len(await heroes.list(Team.name == "Red")) == 5
        assert await heroes.exists(name="Hero 3")
        assert not await heroes.exists(Hero.age > 100)  # type: ignore[operator]
        assert await project(Team, TeamPublicWithHeroes).get_one(data["red"]) == red


@pytest.mark.parametrize("source", SOURCES)
async def test_pages_and_streams(db: Database, source: str) -> None:
    data = await seed(db)
    async with projector(db, source) as project:
        heroes = project(Hero, HeroPublic)
        page = await heroes.paginate(page=2, size=4)
        assert isinstance(page, Page)
        assert [h.age for h in page.items] == [4, 5, 6, 7]
        assert (page.total, page.page, page.size, page.pages) == (10, 2, 4, 3)
        filtered = await heroes.paginate(
            Hero.age > 1, page=1, size=2, order_by=[Hero.age.desc()], team_id=data["red"]  # type: ignore[operator,union-attr]
        )
        assert [h.age for h in filtered.items] == [8, 6] and filtered.total == 4
        uncounted = await heroes.paginate(size=3, include_total=False)
        assert uncounted.total is None and uncounted.pages is None
        with pytest.raises(InvalidPageError):
            await heroes.paginate(page=0)
        with pytest.raises(InvalidPageError):
            await heroes.paginate(size=11, max_size=10)

        seen: list[int | None] = []
        after = None
        while True:
            cursor_page = await heroes.paginate_cursor(
                Hero.age >= 2, limit=3, after=after, order_by=[Hero.name.desc()],  # type: ignore[operator,attr-defined]
                secret=SECRET,
            )
            assert isinstance(cursor_page, CursorPage)
            seen += [hero.age for hero in cursor_page.items]
            if cursor_page.next_cursor is None:
                break
            after = cursor_page.next_cursor
        assert seen == list(range(9, 1, -1))

        streamed = [hero.age async for hero in heroes.stream(batch_size=3)]
        assert streamed == list(range(10))
        odd = [h.age async for h in heroes.stream(Hero.age > 2, batch_size=2, team_id=None)]  # type: ignore[operator]
        assert odd == [3, 5, 7, 9]
        backwards = heroes.stream(batch_size=4, order_by=[Hero.age.desc()])  # type: ignore[union-attr]
        assert [hero.age async for hero in backwards] == list(range(9, -1, -1))


async def test_cursor_pages_match_the_orm_paths_cursors(db: Database) -> None:
    await seed(db)
    async with db.session() as session, db.reader() as reader:
        order = [Hero.age.desc()]  # type: ignore[union-attr]
        orm = await Repository(Hero, session).paginate_cursor(
            limit=4, order_by=order, secret=SECRET
        )
        projected = await reader.project(Hero, HeroPublic).paginate_cursor(
            limit=4, order_by=order, secret=SECRET
        )
        assert projected.next_cursor == orm.next_cursor
        after = await reader.project(Hero, HeroPublic).paginate_cursor(
            limit=4, after=orm.next_cursor, order_by=order, secret=SECRET
        )
        assert [hero.age for hero in after.items] == [5, 4, 3, 2]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("schema", [HeroPublic, HeroPublicWithTeam], ids=lambda s: s.__name__)
async def test_json_forms_are_fastapis_bytes(db: Database, source: str, schema: Any) -> None:
    data = await seed(db)
    async with projector(db, source) as project:
        heroes = project(Hero, schema)
        one = await heroes.get_one(data["heroes"][0])
        assert await heroes.get_json(data["heroes"][0]) == await fastapi_bytes(schema, one)
        with pytest.raises(NotFoundError):
            await heroes.get_json(-1)
        listed = await heroes.list(Hero.age < 5, limit=3)  # type: ignore[operator]
        body = await heroes.list_json(Hero.age < 5, limit=3)  # type: ignore[operator]
        assert body == await fastapi_bytes(list[schema], listed)
        for arguments in ({"page": 1, "size": 4}, {"page": 3, "size": 4},
                          {"page": 9, "size": 4}, {"size": 4, "include_total": False}):
            page = await heroes.paginate(team_id=data["red"], **arguments)
            body = await heroes.paginate_json(team_id=data["red"], **arguments)
            assert body == await fastapi_bytes(Page[schema], page)
            assert body == TypeAdapter(Page[schema]).dump_json(page, by_alias=True)
        first = await heroes.paginate_cursor(limit=4, secret=SECRET)
        assert first.next_cursor is not None
        body = await heroes.paginate_cursor_json(limit=4, secret=SECRET)
        assert body == await fastapi_bytes(CursorPage[schema], first)
        last = await heroes.paginate_cursor_json(limit=40, secret=SECRET)
        assert last.endswith(b',"next_cursor":null}')


async def test_a_readers_stream_is_read_inside_its_block(db: Database) -> None:
    await seed(db)
    async with db.reader() as reader:
        inside = [hero.id async for hero in reader.project(Hero, HeroPublic).stream(batch_size=3)]
        late = reader.project(Hero, HeroPublic).stream(batch_size=3)
    assert len(inside) == 10
    with pytest.raises(RuntimeError, match="after the reader's block ended"):
        [hero async for hero in late]


async def test_a_sessions_unwritten_changes_are_seen(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        session.add(Hero(name="Pending", secret_name="p", age=50))
        heroes = Repository(Hero, session).project(HeroPublic)
        assert await heroes.count(Hero.age == 50) == 1  # type: ignore[arg-type]
        assert [h.name async for h in heroes.stream(Hero.age == 50)] == ["Pending"]  # type: ignore[arg-type]


async def test_a_projection_is_planned_once(db: Database) -> None:
    async with db.session() as session, db.reader() as reader:
        one = Repository(Hero, session).project(HeroPublicWithTeam)
        two = reader.project(Hero, HeroPublicWithTeam)
        assert one._plan is two._plan is plan_for(Hero, HeroPublicWithTeam)
        assert (one.model, one.schema) == (Hero, HeroPublicWithTeam)
