"""/teams/: the SQLModel tutorial's team endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from sqlmodel_async import FilterQuery
from sqlmodel_async.fastapi import database_of

from ..models import INT_MAX, Team, TeamCreate, TeamPublic, TeamPublicWithHeroes, TeamUpdate
from ..services import TeamService
from .deps import TeamId, TeamServiceDep
from .filters import TeamFilters
from .limits import LISTING_MAX
from .reads import json_response

router = APIRouter(prefix="/teams", tags=["teams"])


@router.post("/", response_model=TeamPublic)
async def create_team(team: TeamCreate, teams: TeamServiceDep) -> Team:
    return await teams.create(team)


# The two busiest reads answer with their JSON bytes, their service built from the request
# (reads.py says why).


@router.get("/", response_model=list[TeamPublic], openapi_extra=TeamFilters.openapi())
async def read_teams(
    request: Request,
    filters: Annotated[FilterQuery[Team], TeamFilters.depends()],
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> Response:
    """Teams ordered by id (or by `sort`), filtered by the parameters below."""
    teams = TeamService(database_of(request))
    return json_response(await teams.list_json(filters, offset=offset, limit=limit))


@router.get("/{team_id}", response_model=TeamPublicWithHeroes)
async def read_team(
    team_id: TeamId,
    request: Request,
    heroes_offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    heroes_limit: Annotated[int, Query(ge=0, le=LISTING_MAX)] = LISTING_MAX,
) -> Response:
    """The team with its heroes in id order: at most 100 of them (`heroes_limit`), from
    `heroes_offset`."""
    teams = TeamService(database_of(request))
    body = await teams.get_json(team_id, heroes_offset=heroes_offset, heroes_limit=heroes_limit)
    return json_response(body)


@router.patch("/{team_id}", response_model=TeamPublic)
async def update_team(team_id: TeamId, team: TeamUpdate, teams: TeamServiceDep) -> Team:
    return await teams.update(team_id, team)


@router.delete("/{team_id}")
async def delete_team(team_id: TeamId, teams: TeamServiceDep) -> dict[str, bool]:
    """Delete the team; its heroes stay, with `team_id` null."""
    await teams.delete(team_id)
    return {"ok": True}
