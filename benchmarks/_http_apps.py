"""The apps benchmarks/http.py compares with the Heroes service, same JSON, same tables:

- `seed_app`: the seed document's async FastAPI pattern: an `AsyncSession` dependency, ORM
  objects (with `selectinload` for relationships), `response_model=` doing the conversion,
  `add` / `commit` / `refresh` to create. (The response models are the service's public
  schemas, not the seed's table model, so all three apps answer the same JSON.)
- `raw_app`: hand-written SQL on an asyncpg pool and orjson, in a bare Starlette app.
- `fastapi_raw_app`: the same SQL and orjson as FastAPI endpoints (parameters and bodies
  validated as the service's are: `HeroCreate`, `HeroUpdate`, ids as int32): the ceiling for
  any FastAPI app, whatever its data layer.

The writes are the single statements of the service's write path: POST is one
`INSERT ... RETURNING`, PATCH one `UPDATE ... SET <the fields sent>, version = version + 1
WHERE id = $n RETURNING ...` (404 when no row), DELETE one `DELETE ... WHERE id = $1` (404
when no row); a refused write (unique name, missing team) is a 409. Like the service, POST
schedules a notification that reads the new hero back after the response (a background
task: one SELECT on the pool), so both sides pay for it.

Both read BENCH_DATABASE_URL and BENCH_POOL_SIZE (the same pool size as the service's).
Run with `uvicorn benchmarks._http_apps:seed_app --factory` (or `raw_app`).
"""

# No `from __future__ import annotations`: FastAPI must resolve the handlers' annotations,
# and SessionDep is local to seed_app().
import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Query
from fastapi import Path as FastAPIPath
from heroes.models import (
    Hero,
    HeroCreate,
    HeroPublic,
    HeroPublicWithTeam,
    HeroUpdate,
    Team,
    TeamPublicWithHeroes,
)
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import selectinload
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _url() -> str:
    return os.environ["BENCH_DATABASE_URL"]


def _pool_size() -> int:
    return int(os.environ.get("BENCH_POOL_SIZE", "10"))


# --- the seed's pattern -----------------------------------------------------------------


def seed_app() -> FastAPI:
    async_engine = create_async_engine(_url(), pool_size=_pool_size(), max_overflow=0)
    app = FastAPI()

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(async_engine) as session:
            try:
                yield session
            finally:
                await session.close()

    # The seed writes `session: AsyncSession = Depends(get_session)`; the same dependency.
    SessionDep = Annotated[AsyncSession, Depends(get_session)]

    @app.post("/heroes/", response_model=HeroPublic)
    async def create_hero(hero: HeroCreate, session: SessionDep) -> Any:
        db_hero = Hero.model_validate(hero)
        session.add(db_hero)
        await session.commit()
        await session.refresh(db_hero)
        return db_hero

    @app.get("/heroes/", response_model=list[HeroPublic])
    async def read_heroes(session: SessionDep, offset: int = 0, limit: int = 100) -> Any:
        statement = select(Hero).order_by(Hero.id).offset(offset).limit(limit)  # type: ignore[arg-type]
        result = await session.exec(statement)
        return result.all()

    @app.get("/heroes/{hero_id}", response_model=HeroPublicWithTeam)
    async def read_hero(hero_id: int, session: SessionDep) -> Any:
        statement = select(Hero).where(Hero.id == hero_id).options(selectinload(Hero.team))  # type: ignore[arg-type]
        hero = (await session.exec(statement)).first()
        if not hero:
            raise HTTPException(status_code=404, detail="Hero not found")
        return hero

    @app.get("/teams/{team_id}", response_model=TeamPublicWithHeroes)
    async def read_team(team_id: int, session: SessionDep) -> Any:
        statement = select(Team).where(Team.id == team_id).options(selectinload(Team.heroes))  # type: ignore[arg-type]
        team = (await session.exec(statement)).first()
        if not team:
            raise HTTPException(status_code=404, detail="Team not found")
        return team

    return app


# --- hand-written asyncpg ---------------------------------------------------------------

HERO_COLUMNS = "h.name, h.secret_name, h.age, h.team_id, h.power_level, h.id"
HERO_KEYS = ("name", "secret_name", "age", "team_id", "power_level", "id")


def _hero(row: Any) -> dict[str, Any]:
    return dict(zip(HERO_KEYS, row[:6], strict=True))


def _json(value: Any, status: int = 200, background: BackgroundTask | None = None) -> Response:
    return Response(
        orjson.dumps(value), status_code=status, media_type="application/json",
        background=background,
    )


# What each raw endpoint does, on an asyncpg connection: (status, JSON-able body).


async def _read_hero(connection: Any, hero_id: int) -> tuple[int, Any]:
    row = await connection.fetchrow(
        f"SELECT {HERO_COLUMNS}, t.name, t.headquarters, t.id FROM hero h "
        "LEFT JOIN team t ON t.id = h.team_id WHERE h.id = $1",
        hero_id,
    )
    if row is None:
        return 404, {"detail": "Hero not found"}
    hero = _hero(row)
    hero["team"] = (
        None if row[8] is None else {"name": row[6], "headquarters": row[7], "id": row[8]}
    )
    return 200, hero


async def _read_heroes(connection: Any, offset: int, limit: int) -> tuple[int, Any]:
    rows = await connection.fetch(
        f"SELECT {HERO_COLUMNS} FROM hero h ORDER BY h.id OFFSET $1 LIMIT $2", offset, limit
    )
    return 200, [_hero(row) for row in rows]


async def _read_team(connection: Any, team_id: int) -> tuple[int, Any]:
    team = await connection.fetchrow(
        "SELECT name, headquarters, id FROM team WHERE id = $1", team_id
    )
    if team is None:
        return 404, {"detail": "Team not found"}
    heroes = await connection.fetch(
        f"SELECT {HERO_COLUMNS} FROM hero h WHERE h.team_id = $1 ORDER BY h.id", team_id
    )
    return 200, {"name": team[0], "headquarters": team[1], "id": team[2],
                 "heroes": [_hero(row) for row in heroes]}


async def _create_hero(connection: Any, data: dict[str, Any]) -> tuple[int, Any]:
    row = await connection.fetchrow(
        "INSERT INTO hero (name, secret_name, age, team_id, power_level) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING name, secret_name, age, team_id, "
        "power_level, id",
        data["name"], data["secret_name"], data.get("age"), data.get("team_id"),
        float(data.get("power_level", 50.0)),
    )
    return 200, dict(zip(HERO_KEYS, row, strict=True))


#: The fields PATCH may set (HeroUpdate's), and the statement for each set of them.
UPDATABLE = ("name", "secret_name", "age", "team_id", "power_level")
_UPDATES: dict[tuple[str, ...], str] = {}


def _update_sql(fields: tuple[str, ...]) -> str:
    sql = _UPDATES.get(fields)
    if sql is None:
        assignments = "".join(f"{name} = ${n}, " for n, name in enumerate(fields, 1))
        sql = _UPDATES[fields] = (
            f"UPDATE hero SET {assignments}version = version + 1 WHERE id = ${len(fields) + 1} "
            "RETURNING name, secret_name, age, team_id, power_level, id"
        )
    return sql


async def _update_hero(connection: Any, hero_id: int, data: dict[str, Any]) -> tuple[int, Any]:
    fields = tuple(name for name in UPDATABLE if name in data)
    values = [float(data[n]) if n == "power_level" and data[n] is not None else data[n]
              for n in fields]
    row = await connection.fetchrow(_update_sql(fields), *values, hero_id)
    if row is None:
        return 404, {"detail": "Hero not found"}
    return 200, dict(zip(HERO_KEYS, row, strict=True))


async def _delete_hero(connection: Any, hero_id: int) -> tuple[int, Any]:
    status = await connection.execute("DELETE FROM hero WHERE id = $1", hero_id)
    if status == "DELETE 0":
        return 404, {"detail": "Hero not found"}
    return 200, {"ok": True}


class _Pool:
    """An asyncpg pool opened by the app's lifespan."""

    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None  # type: ignore[type-arg]

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        dsn = _url().replace("postgresql+asyncpg://", "postgresql://")
        self.pool = await asyncpg.create_pool(dsn, min_size=_pool_size(), max_size=_pool_size())
        yield
        await self.pool.close()

    async def run(self, read: Any, *args: Any) -> Response:
        status, body = await self.answer(read, *args)
        return _json(body, status)

    async def answer(self, read: Any, *args: Any) -> tuple[int, Any]:
        assert self.pool is not None
        async with self.pool.acquire() as connection:
            try:
                answered: tuple[int, Any] = await read(connection, *args)
            except asyncpg.IntegrityConstraintViolationError as error:
                return 409, {"detail": str(error)}
        return answered

    #: What the notifications said (the service's Notifier keeps the last 1000 too).
    sent: deque[str] = deque(maxlen=1000)

    async def notify(self, hero_id: int) -> None:
        """The service's notification: the new hero read back after the response."""
        assert self.pool is not None
        async with self.pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT {HERO_COLUMNS} FROM hero h WHERE h.id = $1", hero_id
            )
        if row is not None:
            self.sent.append(f"New hero: {row[0]}")

    async def created(self, data: dict[str, Any]) -> tuple[int, Any]:
        return await self.answer(_create_hero, data)


def raw_app() -> Starlette:
    pool = _Pool()

    async def read_hero(request: Request) -> Response:
        return await pool.run(_read_hero, int(request.path_params["hero_id"]))

    async def read_heroes(request: Request) -> Response:
        offset = int(request.query_params.get("offset", 0))
        limit = int(request.query_params.get("limit", 100))
        return await pool.run(_read_heroes, offset, limit)

    async def read_team(request: Request) -> Response:
        return await pool.run(_read_team, int(request.path_params["team_id"]))

    async def create_hero(request: Request) -> Response:
        status, body = await pool.created(orjson.loads(await request.body()))
        task = BackgroundTask(pool.notify, body["id"]) if status == 200 else None
        return _json(body, status, task)

    async def update_hero(request: Request) -> Response:
        data = orjson.loads(await request.body())
        return await pool.run(_update_hero, int(request.path_params["hero_id"]), data)

    async def delete_hero(request: Request) -> Response:
        return await pool.run(_delete_hero, int(request.path_params["hero_id"]))

    return Starlette(
        routes=[
            Route("/heroes/", read_heroes, methods=["GET"]),
            Route("/heroes/", create_hero, methods=["POST"]),
            Route("/heroes/{hero_id:int}", read_hero, methods=["GET"]),
            Route("/heroes/{hero_id:int}", update_hero, methods=["PATCH"]),
            Route("/heroes/{hero_id:int}", delete_hero, methods=["DELETE"]),
            Route("/teams/{team_id:int}", read_team, methods=["GET"]),
        ],
        lifespan=pool.lifespan,
    )


def fastapi_raw_app() -> FastAPI:
    """The same hand-written SQL and orjson, as FastAPI endpoints validating their
    parameters as the service's do: what FastAPI itself costs, with no data layer."""
    pool = _Pool()
    app = FastAPI(lifespan=pool.lifespan)
    int32 = {"ge": -(2**31), "le": 2**31 - 1}

    @app.get("/heroes/")
    async def read_heroes(
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
        limit: Annotated[int, Query(ge=0, le=100)] = 100,
    ) -> Response:
        return await pool.run(_read_heroes, offset, limit)

    @app.post("/heroes/")
    async def create_hero(hero: HeroCreate, background_tasks: BackgroundTasks) -> Response:
        status, body = await pool.created(hero.model_dump())
        if status == 200:
            background_tasks.add_task(pool.notify, body["id"])
        return _json(body, status)

    @app.patch("/heroes/{hero_id}")
    async def update_hero(
        hero_id: Annotated[int, FastAPIPath(**int32)], hero: HeroUpdate
    ) -> Response:
        return await pool.run(_update_hero, hero_id, hero.model_dump(exclude_unset=True))

    @app.delete("/heroes/{hero_id}")
    async def delete_hero(hero_id: Annotated[int, FastAPIPath(**int32)]) -> Response:
        return await pool.run(_delete_hero, hero_id)

    @app.get("/heroes/{hero_id}")
    async def read_hero(hero_id: Annotated[int, FastAPIPath(**int32)]) -> Response:
        return await pool.run(_read_hero, hero_id)

    @app.get("/teams/{team_id}")
    async def read_team(team_id: Annotated[int, FastAPIPath(**int32)]) -> Response:
        return await pool.run(_read_team, team_id)

    return app
