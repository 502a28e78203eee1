"""POST /teams/{team_id}/move-heroes?to=ID: every hero of a team moves to another team in
one set-based UPDATE (`Repository.update_where`), atomically."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import ForeignKeyError, NotFoundError, Repository
from sqlmodel_async.fastapi import DatabaseDep

from ..models import INT_MAX, INT_MIN, Hero, Team
from .deps import TeamId

router = APIRouter(prefix="/teams", tags=["teams"])

TargetTeamId = Annotated[int, Query(ge=INT_MIN, le=INT_MAX, description="the team to move to")]


def _unknown_target() -> HTTPException:
    message = "to refers to a team that does not exist"
    return HTTPException(
        status_code=422,
        detail=[{"loc": ["query", "to"], "msg": message, "type": "foreign_key"}],
    )


async def move_heroes(session: AsyncSession, *, team_id: int, to: int) -> int:
    """The unit of work: both teams must exist; then one UPDATE moves the heroes.

    Both team rows are locked first, in id order, so concurrent moves between the same
    teams run one after the other (as if serial: a move the other way cannot swap the
    teams' heroes) and never deadlock on each other. `FOR NO KEY UPDATE` on PostgreSQL:
    heroes joining either team meanwhile (their foreign-key checks take KEY SHARE) are
    not held up. A vanished target is refused by the foreign key all the same."""
    locked = select(Team.id).where(col(Team.id).in_({team_id, to})).order_by(col(Team.id))
    found = set((await session.exec(locked.with_for_update(key_share=True))).all())
    if team_id not in found:
        raise NotFoundError(Team, team_id)
    if to not in found:
        raise _unknown_target()
    try:
        return await Repository(Hero, session).update_where({"team_id": to}, team_id=team_id)
    except ForeignKeyError as error:
        raise _unknown_target() from error


@router.post("/{team_id}/move-heroes")
async def move_team_heroes(team_id: TeamId, to: TargetTeamId, db: DatabaseDep) -> dict[str, int]:
    """Move every hero of the team to team `to`, in one statement: 200 `{"moved": n}`;
    404 for an unknown team, 422 for an unknown `to`. A deadlock with a concurrent move
    is retried (`run_in_transaction`)."""
    moved = await db.run_in_transaction(partial(move_heroes, team_id=team_id, to=to))
    return {"moved": moved}
