"""Filters and sorting from requests: a FilterSet per model, its FastAPI query parameters,
and one FilterQuery on every read path."""

from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query, Request, Response
from heroes.models import Hero, HeroPublic, Team

from sqlmodel_async import (
    Database,
    Filter,
    FilterQuery,
    FilterSet,
    InvalidFilterError,
    Repository,
    Sort,
)
from sqlmodel_async.fastapi import add_exception_handlers, database_of


class HeroFilters(FilterSet[Hero]):
    name = Filter(ops=["eq", "in", "icontains", "istartswith"])
    age = Filter(ops=["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "isnull"])
    team__name = Filter(ops=["eq", "icontains"])  # through the `team` relationship
    sort = Sort(["name", "age", "id"])  # default: the primary key


def create_app(db: Database) -> FastAPI:
    app = FastAPI()
    app.state.database = db
    add_exception_handlers(app)

    # openapi_extra: each filter parameter and `sort` in the OpenAPI document.
    @app.get("/heroes/", response_model=list[HeroPublic], openapi_extra=HeroFilters.openapi())
    async def read_heroes(
        request: Request,
        filters: Annotated[FilterQuery[Hero], HeroFilters.depends()],
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=100)] = 100,
    ) -> Response:
        async with database_of(request).reader() as reader:
            body = await reader.project(Hero, HeroPublic).list_json(
                *filters, order_by=filters.order_by, offset=offset, limit=limit
            )
        return Response(body, media_type="application/json")

    return app


async def main(db: Database) -> None:
    async with db.transaction() as session:
        teams = await Repository(Team, session).create_many(
            [{"name": "Preventers", "headquarters": "Sharp Tower"},
             {"name": "Z-Force", "headquarters": "Sister Margaret's Bar"}],
            returning=True,
        )
        await Repository(Hero, session).create_many([
            {"name": "Deadpond", "secret_name": "Dive Wilson", "age": 30, "team_id": teams[1].id},
            {"name": "Rusty-Man", "secret_name": "Tommy Sharp", "age": 48, "team_id": teams[0].id},
            {"name": "100% Hero", "secret_name": "Percy", "age": 30},
            {"name": "Spider-Boy", "secret_name": "Pedro Parqueador", "age": 16},
        ])

    # In code: the parameters as a mapping (strings are converted as over HTTP).
    query = HeroFilters.parse({"age__gte": "20", "sort": "-age,name"})
    async with db.session() as session:
        heroes = Repository(Hero, session)
        found = await heroes.list(*query.where, order_by=query.order_by)
        assert [hero.name for hero in found] == ["Rusty-Man", "100% Hero", "Deadpond"]
        assert await heroes.count(*query.where) == 3
        page = await heroes.paginate(*query.where, page=1, size=2, order_by=query.order_by)
        assert (page.total, page.pages) == (3, 2)
        # `%` and `_` in a value match themselves.
        percent = HeroFilters.parse({"name__icontains": "0%"})
        assert [hero.name for hero in await heroes.list(*percent)] == ["100% Hero"]
    with pytest.raises(InvalidFilterError, match="unknown sort key 'secret_name'"):
        HeroFilters.parse({"sort": "secret_name"})

    # Over HTTP: query parameters, each described in the OpenAPI document.
    transport = httpx.ASGITransport(app=create_app(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/heroes/?team__name__icontains=force&age__in=30&age__in=48")
        assert [hero["name"] for hero in response.json()] == ["Deadpond"]
        response = await client.get("/heroes/?age__isnull=false&sort=-age&limit=2")
        assert [hero["name"] for hero in response.json()] == ["Rusty-Man", "100% Hero"]
        response = await client.get("/heroes/?age__like=3")  # unknown operator
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "age__like"]
        response = await client.get("/heroes/?agee=30")  # a misspelt filter is refused
        assert response.status_code == 422
        parameters = (await client.get("/openapi.json")).json()["paths"]["/heroes/"]["get"]
        described = {p["name"]: p for p in parameters["parameters"]}
        assert described["age__in"]["schema"]["type"] == "array"
        assert described["sort"]["description"].startswith("Sort keys")
