"""/teams/: the SQLModel tutorial's team endpoints (API.md section 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from ..models import INT_MAX, Team, TeamCreate, TeamPublic, TeamPublicWithHeroes, TeamUpdate
from .deps import TeamId, TeamServiceDep

router = APIRouter(prefix="/teams", tags=["teams"])


@router.post("/", response_model=TeamPublic)
async def create_team(team: TeamCreate, teams: TeamServiceDep) -> Team:
    return await teams.create(team)


@router.get("/", response_model=list[TeamPublic])
async def read_teams(
    teams: TeamServiceDep,
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> Sequence[Team]:
    """Teams ordered by id."""
    return await teams.list(offset=offset, limit=limit)


@router.get("/{team_id}", response_model=TeamPublicWithHeroes)
async def read_team(team_id: TeamId, teams: TeamServiceDep) -> Team:
    return await teams.get(team_id)


@router.patch("/{team_id}", response_model=TeamPublic)
async def update_team(team_id: TeamId, team: TeamUpdate, teams: TeamServiceDep) -> Team:
    return await teams.update(team_id, team)


@router.delete("/{team_id}")
async def delete_team(team_id: TeamId, teams: TeamServiceDep) -> dict[str, bool]:
    """Delete the team; its heroes stay, with `team_id` null."""
    await teams.delete(team_id)
    return {"ok": True}
