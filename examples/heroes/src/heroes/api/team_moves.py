"""POST /teams/{team_id}/move-heroes?to=ID: every hero of a team moves to another team in
one set-based UPDATE, atomically."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from ..models import INT_MAX, INT_MIN
from ..services.teams import UnknownTargetTeam
from .deps import TeamId, TeamServiceDep

router = APIRouter(prefix="/teams", tags=["teams"])

TargetTeamId = Annotated[int, Query(ge=INT_MIN, le=INT_MAX, description="the team to move to")]


@router.post("/{team_id}/move-heroes")
async def move_team_heroes(
    team_id: TeamId, to: TargetTeamId, teams: TeamServiceDep
) -> dict[str, int]:
    """Move every hero of the team to team `to`, in one statement: 200 `{"moved": n}`;
    404 for an unknown team, 422 for an unknown `to`. A deadlock with a concurrent move
    is retried (`run_in_transaction`)."""
    try:
        moved = await teams.move_heroes(team_id, to=to)
    except UnknownTargetTeam as error:
        message = "to refers to a team that does not exist"
        raise HTTPException(
            status_code=422,
            detail=[{"loc": ["query", "to"], "msg": message, "type": "foreign_key"}],
        ) from error
    return {"moved": moved}
