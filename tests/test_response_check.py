"""`check_response_models(app)`: every response schema of an app's routes is planned at
start-up, so a schema that cannot be read from its table fails at boot, naming the route,
the schema and the field."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from sqlmodel_async.fastapi import check_response_models

from .relations_models import (
    HeroPublic,
    RTeam,
    RTeamBase,
    TeamPublic,
    TeamWithHeroes,
    TeamWithPowerfulHeroes,
)


class TeamWithGhosts(RTeamBase):
    id: int
    ghosts: list[HeroPublic] = []


class TeamWithBrokenHeroes(RTeamBase):
    id: int
    heroes: list[TeamWithGhosts] = []


def app_with(*schemas: object) -> FastAPI:
    app = FastAPI()
    for number, schema in enumerate(schemas):

        async def read() -> None:
            return None

        app.get(f"/teams/{number}", response_model=schema)(read)
    return app


def test_the_response_schemas_of_an_app_are_planned() -> None:
    app = app_with(list[TeamPublic], TeamWithPowerfulHeroes | None, TeamWithHeroes)
    planned = check_response_models(app)
    assert planned == [
        (RTeam, TeamPublic), (RTeam, TeamWithPowerfulHeroes), (RTeam, TeamWithHeroes),
    ]


def test_a_schema_that_cannot_be_read_fails_at_start_up() -> None:
    with pytest.raises(TypeError, match=r"GET /teams/1: .*TeamWithGhosts\.ghosts is neither"):
        check_response_models(app_with(TeamPublic, list[TeamWithGhosts]))
    with pytest.raises(
        TypeError, match=r"TeamWithBrokenHeroes\.heroes: TeamWithGhosts\.ghosts is neither a column"
    ):
        check_response_models(app_with(TeamWithBrokenHeroes), models=[RTeam])


def test_schemas_of_no_table_are_left_alone() -> None:
    assert check_response_models(app_with(HeroPublic, dict[str, int])) == []


def test_the_routes_of_included_routers_are_checked() -> None:
    router = APIRouter(prefix="/teams")

    async def read() -> None:
        return None

    router.get("/{team_id}", response_model=TeamWithGhosts)(read)
    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TypeError, match=r"GET /teams/\{team_id\}: .*TeamWithGhosts\.ghosts"):
        check_response_models(app)
