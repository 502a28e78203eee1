"""FastAPI: get_session / AsyncSessionDep, lifespan (create_db_and_tables, dispose),
endpoints with Create/Public models and 404s, database errors as HTTP, and
send_notification as a background task with its own session."""

from collections.abc import Sequence
from typing import Annotated

import httpx
from fastapi import BackgroundTasks, FastAPI, Query
from heroes.models import Hero, HeroCreate, HeroPublic, HeroPublicWithTeam, HeroUpdate

from sqlmodel_async import Database, Repository
from sqlmodel_async.fastapi import DatabaseDep, SessionDep, add_exception_handlers, lifespan

notified: list[str] = []


def create_app(db: Database) -> FastAPI:
    # create_all=True suits SQLite and tests; run migrations in production instead.
    app = FastAPI(lifespan=lifespan(db, create_all=True))
    add_exception_handlers(app)  # NotFoundError → 404, duplicate → 409, busy → 503, ...

    @app.post("/heroes/", response_model=HeroPublic)
    async def create_hero(
        hero: HeroCreate, session: SessionDep, database: DatabaseDep, tasks: BackgroundTasks
    ) -> Hero:
        created = await Repository(Hero, session).create(hero)  # `id` in the body: ignored
        await session.commit()
        assert created.id is not None
        tasks.add_task(send_notification, database, created.id)
        return created

    @app.get("/heroes/", response_model=list[HeroPublic])
    async def read_heroes(
        session: SessionDep,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=100)] = 100,
    ) -> Sequence[Hero]:
        return await Repository(Hero, session).list(offset=offset, limit=limit)

    @app.get("/heroes/{hero_id}", response_model=HeroPublicWithTeam)
    async def read_hero(hero_id: int, session: SessionDep) -> Hero:
        return await Repository(Hero, session).get_one(hero_id, load=[Hero.team])  # or 404

    @app.patch("/heroes/{hero_id}", response_model=HeroPublic)
    async def update_hero(hero_id: int, hero: HeroUpdate, session: SessionDep) -> Hero:
        updated = await Repository(Hero, session).update(hero_id, hero)
        await session.commit()
        return updated

    return app


async def send_notification(db: Database, hero_id: int) -> None:
    """Runs after the response: the request's session is closed, so it opens its own."""
    async with db.session() as session:
        hero = await Repository(Hero, session).get(hero_id)
    if hero is not None:
        notified.append(f"New hero: {hero.name}")


async def main(db: Database) -> None:
    app = create_app(db)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        created = await client.post(
            "/heroes/", json={"id": 999, "name": "Deadpond", "secret_name": "Dive Wilson"}
        )
        assert created.status_code == 200 and created.json()["id"] != 999
        assert notified[-1] == "New hero: Deadpond"

        hero_id = created.json()["id"]
        assert (await client.get(f"/heroes/{hero_id}")).json()["team"] is None
        assert (await client.get("/heroes/-1")).json() == {"detail": "Hero not found"}
        duplicate = await client.post("/heroes/", json={"name": "Deadpond", "secret_name": "x"})
        assert duplicate.status_code == 409
        unknown_team = await client.patch(f"/heroes/{hero_id}", json={"team_id": 12345})
        assert unknown_team.status_code == 422
        assert unknown_team.json()["detail"][0]["loc"] == ["body", "team_id"]
        assert [h["name"] for h in (await client.get("/heroes/")).json()] == ["Deadpond"]
