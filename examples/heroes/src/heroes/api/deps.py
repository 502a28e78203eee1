"""Dependencies shared by the routers: services, the notifier, and id parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from sqlmodel_async.fastapi import DatabaseDep

from ..models import INT_MAX, INT_MIN
from ..notifications import Notifier
from ..services import HeroService, TeamService

#: Ids outside the INTEGER column's range can name no row: 422, not a database error.
HeroId = Annotated[int, Path(ge=INT_MIN, le=INT_MAX)]
TeamId = Annotated[int, Path(ge=INT_MIN, le=INT_MAX)]


# Coroutines, not plain functions: FastAPI runs a plain `def` dependency in its thread
# pool, a hop that cost POST /heroes/ about 16% of its CPU (py-spy under wrk).


async def hero_service(database: DatabaseDep) -> HeroService:
    return HeroService(database)


async def team_service(database: DatabaseDep) -> TeamService:
    return TeamService(database)


async def notifier(request: Request) -> Notifier:
    found: Notifier = request.app.state.notifier
    return found


HeroServiceDep = Annotated[HeroService, Depends(hero_service)]
TeamServiceDep = Annotated[TeamService, Depends(team_service)]
NotifierDep = Annotated[Notifier, Depends(notifier)]
