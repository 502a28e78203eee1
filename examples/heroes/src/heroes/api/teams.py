"""/teams/: the SQLModel tutorial's team endpoints (API.md section 1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from sqlmodel_async import FilterQuery
from sqlmodel_async.fastapi import database_of

from ..models import (
    INT_MAX,
    Hero,
    HeroPublic,
    Team,
    TeamCreate,
    TeamPublic,
    TeamPublicWithHeroes,
    TeamUpdate,
)
from .deps import TeamId, TeamServiceDep
from .filters import TeamFilters
from .limits import LISTING_MAX
from .reads import json_response

router = APIRouter(prefix="/teams", tags=["teams"])


@router.post("/", response_model=TeamPublic)
async def create_team(team: TeamCreate, teams: TeamServiceDep) -> Team:
    return await teams.create(team)


# Reads: the response schema is built straight from rows and serialised once
# (Database.reader(), reads.py); response_model= stays for the OpenAPI description.
# `database_of(request)` rather than DatabaseDep: no dependency to resolve per request.


@router.get("/", response_model=list[TeamPublic], openapi_extra=TeamFilters.openapi())
async def read_teams(
    request: Request,
    filters: Annotated[FilterQuery[Team], TeamFilters.depends()],
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> Response:
    """Teams ordered by id (or by `sort`), filtered by the parameters below."""
    async with database_of(request).reader() as reader:
        body = await reader.project(Team, TeamPublic).list_json(
            *filters, order_by=filters.order_by, offset=offset, limit=limit
        )
    return json_response(body)


@router.get("/{team_id}", response_model=TeamPublicWithHeroes)
async def read_team(
    team_id: TeamId,
    request: Request,
    heroes_offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    heroes_limit: Annotated[int, Query(ge=0, le=LISTING_MAX)] = LISTING_MAX,
) -> Response:
    """The team with its heroes in id order: at most 100 of them (`heroes_limit`), from
    `heroes_offset`."""
    async with database_of(request).reader() as reader:
        team = await reader.project(Team, TeamPublic).get_json(team_id)
        heroes = await reader.project(Hero, HeroPublic).list_json(
            Hero.team_id == team_id, offset=heroes_offset, limit=heroes_limit
        )
    # TeamPublicWithHeroes is TeamPublic plus `heroes` as its last field: its JSON is the
    # team's object with the heroes' array added at the end.
    return json_response(team[:-1] + b',"heroes":' + heroes + b"}")


@router.patch("/{team_id}", response_model=TeamPublic)
async def update_team(team_id: TeamId, team: TeamUpdate, teams: TeamServiceDep) -> Team:
    return await teams.update(team_id, team)


@router.delete("/{team_id}")
async def delete_team(team_id: TeamId, teams: TeamServiceDep) -> dict[str, bool]:
    """Delete the team; its heroes stay, with `team_id` null."""
    await teams.delete(team_id)
    return {"ok": True}
