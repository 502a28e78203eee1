"""What the routers ask FastAPI for: the services, the notifier, and id parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from sqlmodel_async.fastapi import database_of

from ..models import INT_MAX, INT_MIN
from ..notifications import Notifier
from ..services import HeroBrowser, HeroBulkService, HeroService, PowerService, TeamService

#: Ids outside the INTEGER column's range can name no row: 422, not a database error.
HeroId = Annotated[int, Path(ge=INT_MIN, le=INT_MAX)]
TeamId = Annotated[int, Path(ge=INT_MIN, le=INT_MAX)]
PowerId = Annotated[int, Path(ge=INT_MIN, le=INT_MAX)]


# Each service is built on the app's Database, read from the request itself: a nested
# `DatabaseDep` would be one more dependency for FastAPI to resolve on every request. And
# coroutines, not plain functions: FastAPI runs a plain `def` dependency in its thread pool.


async def hero_service(request: Request) -> HeroService:
    return HeroService(database_of(request))


async def team_service(request: Request) -> TeamService:
    return TeamService(database_of(request))


async def power_service(request: Request) -> PowerService:
    return PowerService(database_of(request))


async def hero_browser(request: Request) -> HeroBrowser:
    return HeroBrowser(database_of(request))


async def hero_bulk_service(request: Request) -> HeroBulkService:
    return HeroBulkService(database_of(request))


async def notifier(request: Request) -> Notifier:
    found: Notifier = request.app.state.notifier
    return found


HeroServiceDep = Annotated[HeroService, Depends(hero_service)]
TeamServiceDep = Annotated[TeamService, Depends(team_service)]
PowerServiceDep = Annotated[PowerService, Depends(power_service)]
HeroBrowserDep = Annotated[HeroBrowser, Depends(hero_browser)]
HeroBulkServiceDep = Annotated[HeroBulkService, Depends(hero_bulk_service)]
NotifierDep = Annotated[Notifier, Depends(notifier)]
