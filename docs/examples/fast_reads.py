"""Fast reads: the response schema decides what is selected (`project()`),
`database.reader()` reads it with no session and no transaction, and its JSON is written
straight from the rows, once."""

from typing import Annotated

import httpx
from fastapi import FastAPI, Query, Request, Response
from heroes.models import Hero, HeroPublic, HeroPublicWithTeam, Team

from sqlmodel_async import Database
from sqlmodel_async.fastapi import add_exception_handlers, database_of, lifespan


def create_app(db: Database) -> FastAPI:
    app = FastAPI(lifespan=lifespan(db, create_all=True))
    add_exception_handlers(app)

    # response_model= documents the answer in OpenAPI; returning a Response sends the
    # bytes as they are, without FastAPI validating every field a second time. They are
    # what response_model= would write: the schema's own serializer, by alias.
    @app.get("/heroes/", response_model=list[HeroPublic])
    async def read_heroes(
        request: Request,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=100)] = 100,
    ) -> Response:
        # database_of(request): the app's Database with no dependency to resolve.
        async with database_of(request).reader() as reader:
            body = await reader.project(Hero, HeroPublic).list_json(offset=offset, limit=limit)
        return Response(body, media_type="application/json")

    @app.get("/heroes/{hero_id}", response_model=HeroPublicWithTeam)
    async def read_hero(hero_id: int, request: Request) -> Response:
        async with database_of(request).reader() as reader:
            # One SELECT with the team LEFT JOINed; NotFoundError → 404.
            body = await reader.project(Hero, HeroPublicWithTeam).get_json(hero_id)
        return Response(body, media_type="application/json")

    return app


async def main(db: Database) -> None:
    async with db.transaction() as session:
        team = Team(name="Preventers", headquarters="Sharp Tower")
        session.add(team)
        await session.flush()
        session.add(Hero(name="Deadpond", secret_name="Dive Wilson", team_id=team.id))

    app = create_app(db)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        [listed] = (await client.get("/heroes/")).json()
        assert listed["name"] == "Deadpond" and "team" not in listed
        hero = (await client.get(f"/heroes/{listed['id']}")).json()
        assert hero["team"]["name"] == "Preventers"
        assert (await client.get("/heroes/-1")).json() == {"detail": "Hero not found"}

    # Outside FastAPI: instances rather than JSON, e.g. in a script or a background task.
    async with db.reader() as reader:
        hero_public = await reader.project(Hero, HeroPublic).get(listed["id"])
        assert hero_public == HeroPublic(**listed)
