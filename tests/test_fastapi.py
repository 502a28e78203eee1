"""The FastAPI integration over HTTP: session dependency, lifespan, errors as responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from pydantic import BaseModel

from sqlmodel_async import Database, Repository, TransientError
from sqlmodel_async.fastapi import (
    DatabaseDep,
    SessionDep,
    add_exception_handlers,
    database_of,
    error_response,
    lifespan,
)

from .models import Gauge, Guild, Hero, HeroCreate, Member, metadata


class MemberCreate(BaseModel):
    name: str
    guild_id: int


def make_app(db: Database) -> FastAPI:
    app = FastAPI(lifespan=lifespan(db))
    add_exception_handlers(app)

    @app.post("/heroes/")
    async def create_hero(hero: HeroCreate, session: SessionDep) -> dict[str, Any]:
        created = await Repository(Hero, session).create(hero)
        await session.commit()
        return created.model_dump()

    @app.get("/heroes/{hero_id}")
    async def read_hero(hero_id: int, session: SessionDep) -> dict[str, Any]:
        return (await Repository(Hero, session).get_one(hero_id)).model_dump()

    @app.patch("/heroes/{hero_id}")
    async def patch_hero(
        hero_id: int, data: dict[str, Any], session: SessionDep
    ) -> dict[str, Any]:
        updated = await Repository(Hero, session).update(hero_id, data)
        await session.commit()
        return updated.model_dump()

    @app.post("/heroes/uncommitted")
    async def forget(hero: HeroCreate, session: SessionDep) -> dict[str, bool]:
        await Repository(Hero, session).create(hero)
        return {"ok": True}

    @app.post("/heroes/nameless")
    async def nameless(session: SessionDep) -> None:
        await Repository(Hero, session).create(Hero(name="x", secret_name=None))  # type: ignore[arg-type]

    @app.post("/members/")
    async def create_member(member: MemberCreate, session: SessionDep) -> dict[str, Any]:
        created = await Repository(Member, session).create(member)
        await session.commit()
        return created.model_dump()

    @app.delete("/guilds/{guild_id}")
    async def delete_guild(guild_id: int, session: SessionDep) -> dict[str, bool]:
        await Repository(Guild, session).delete(guild_id)
        await session.commit()
        return {"ok": True}

    @app.post("/gauges/")
    async def create_gauge(level: int, session: SessionDep) -> None:
        await Repository(Gauge, session).create({"level": level})

    @app.post("/read-only-write")
    async def read_only_write(database: DatabaseDep) -> None:
        async with database.read_only() as session:
            await Repository(Hero, session).create({"name": "r", "secret_name": "r"})

    @app.get("/broken")
    async def broken(session: SessionDep) -> None:
        await session.exec(sa.text("SELECT secret_column FROM no_such_table_b"))  # type: ignore[call-overload]

    @app.get("/busy")
    async def busy() -> None:
        raise TransientError("deadlock, retries exhausted")

    @app.get("/ping")
    async def ping(session: SessionDep) -> dict[str, int]:
        return {"one": (await session.exec(sa.text("SELECT 1"))).scalar_one()}  # type: ignore[call-overload]

    return app


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(db)
    async with app.router.lifespan_context(app):
        assert app.state.database is db
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_session_dependency_and_not_found(client: httpx.AsyncClient) -> None:
    created = await client.post("/heroes/", json={"name": "A", "secret_name": "a"})
    assert created.status_code == 200
    hero_id = created.json()["id"]
    assert (await client.get(f"/heroes/{hero_id}")).json()["name"] == "A"
    missing = await client.get("/heroes/999999")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Hero not found"})


async def test_uncommitted_request_work_is_rolled_back(
    client: httpx.AsyncClient, db: Database
) -> None:
    response = await client.post("/heroes/uncommitted", json={"name": "A", "secret_name": "a"})
    assert response.status_code == 200
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0


async def test_duplicate_is_409(client: httpx.AsyncClient) -> None:
    await client.post("/heroes/", json={"name": "A", "secret_name": "a"})
    response = await client.post("/heroes/", json={"name": "A", "secret_name": "b"})
    assert response.status_code == 409
    assert response.json() == {"detail": "name already exists"}


async def test_missing_parent_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/heroes/", json={"name": "A", "secret_name": "a", "team_id": 7})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "team_id"]
    response = await client.post("/members/", json={"name": "M", "guild_id": 7})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "guild_id"]


async def test_still_referenced_is_409(client: httpx.AsyncClient, db: Database) -> None:
    async with db.transaction() as session:
        guild = await Repository(Guild, session).create({"name": "G"})
        await Repository(Member, session).create({"name": "M", "guild_id": guild.id})
    response = await client.delete(f"/guilds/{guild.id}")
    assert response.status_code == 409
    assert "referenced" in response.json()["detail"]


async def test_not_null_and_check_are_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/heroes/nameless")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "secret_name"]
    response = await client.post("/gauges/", params={"level": -3})
    assert response.status_code == 422


async def test_bad_update_data_is_422(client: httpx.AsyncClient) -> None:
    hero_id = (await client.post("/heroes/", json={"name": "A", "secret_name": "a"})).json()["id"]
    for body in ({"id": hero_id + 1}, {"bogus": 1}, {"age": "old"}):
        response = await client.patch(f"/heroes/{hero_id}", json=body)
        assert response.status_code == 422, body
        assert "detail" in response.json()
    assert (await client.get(f"/heroes/{hero_id}")).json()["id"] == hero_id


async def test_read_only_is_403(client: httpx.AsyncClient) -> None:
    response = await client.post("/read-only-write")
    assert response.status_code == 403
    assert "detail" in response.json()


async def test_other_database_errors_are_500_without_sql(client: httpx.AsyncClient) -> None:
    response = await client.get("/broken")
    assert response.status_code == 500
    body = response.text
    assert "SELECT" not in body and "no_such_table_b" not in body and "secret_column" not in body
    assert response.json() == {"detail": "internal database error"}


async def test_transient_is_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/busy")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:secret@127.0.0.1:1/x",
        "postgresql://u:secret@localhost:1/x",
        "mysql://u:secret@127.0.0.1:1/x",
    ],
)
async def test_unreachable_database_is_503(url: str) -> None:
    app = make_app(Database(url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/ping")
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert "secret" not in response.text


async def test_pool_timeout_is_503(db: Database) -> None:
    one = Database(db.engine.url, metadata=metadata, pool_size=1, max_overflow=0, pool_timeout=0.1)
    app = make_app(one)
    async with app.router.lifespan_context(app), one.engine.connect() as held:
        await held.exec_driver_sql("SELECT 1")  # the only connection is taken
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/ping")
    assert response.status_code == 503
    assert "Retry-After" in response.headers


def test_error_response_mapping_without_a_database() -> None:
    from sqlmodel_async import (
        CheckViolation,
        DuplicateKeyError,
        ForeignKeyError,
        NotFoundError,
        NotNullViolation,
        ReadOnlyError,
    )

    referenced = ForeignKeyError("still referenced", column="id")
    referenced.missing_reference = False
    cases: list[tuple[BaseException, int]] = [
        (NotFoundError(Hero, 1), 404),
        (DuplicateKeyError("dup", column="name"), 409),
        (ForeignKeyError("missing", column="team_id"), 422),
        (referenced, 409),
        (NotNullViolation("null", column="name"), 422),
        (CheckViolation("check", constraint="ck"), 422),
        (ReadOnlyError("ro"), 403),
        (TransientError("busy"), 503),
        (sa.exc.TimeoutError("QueuePool limit reached"), 503),
        (ConnectionRefusedError(111, "refused"), 503),
        (RuntimeError("SELECT password FROM users"), 500),
    ]
    for error, status in cases:
        response = error_response(error)
        assert response.status_code == status, error
        assert b"SELECT" not in response.body


async def test_lifespan_creates_tables_runs_startup_and_disposes(db: Database) -> None:
    scratch = sa.MetaData()
    sa.Table("t_lifespan_b", scratch, sa.Column("id", sa.Integer, primary_key=True))
    other = Database(db.engine.url, metadata=scratch)
    started: list[Database] = []

    async def on_startup(database: Database) -> None:
        started.append(database)

    app = FastAPI(lifespan=lifespan(other, create_all=True, on_startup=on_startup))
    async with app.router.lifespan_context(app):
        assert started == [other]
        async with other.engine.connect() as connection:
            names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert "t_lifespan_b" in names
        assert other.engine.pool.checkedin() == 1
    assert other.engine.pool.checkedin() == 0  # disposed on shutdown
    await other.drop_all()
    await other.dispose()


async def test_session_dependency_without_a_database_says_how_to_fix() -> None:
    app = FastAPI()

    @app.get("/")
    async def index(session: SessionDep) -> None:
        return None

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with pytest.raises(RuntimeError, match="lifespan"):
            await http.get("/")


async def test_database_of_a_request_is_the_apps(db: Database) -> None:
    """`database_of(request)`: the lifespan's Database without a dependency; a clear
    error where there is none."""
    app = FastAPI(lifespan=lifespan(db))
    bare = FastAPI()

    @app.get("/")
    async def index(request: Request) -> dict[str, bool]:
        return {"same": database_of(request) is db}

    @bare.get("/")
    async def bare_index(request: Request) -> None:
        database_of(request)

    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        assert (await http.get("/")).json() == {"same": True}
    transport = httpx.ASGITransport(app=bare, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with pytest.raises(RuntimeError, match="lifespan"):
            await http.get("/")
