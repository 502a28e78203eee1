"""/heroes/: the SQLModel tutorial's hero endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from sqlmodel_async import FilterQuery, ForeignKeyError
from sqlmodel_async.fastapi import database_of

from ..models import (
    INT_MAX,
    Hero,
    HeroCreateWithPowers,
    HeroPublic,
    HeroPublicWithTeam,
    HeroUpdate,
)
from ..services import HeroService
from .deps import HeroId, HeroServiceDep, NotifierDep
from .filters import HeroFilters
from .powers import unknown_powers
from .reads import json_response

router = APIRouter(prefix="/heroes", tags=["heroes"])


@router.post("/", response_model=HeroPublic)
async def create_hero(
    hero: HeroCreateWithPowers,
    heroes: HeroServiceDep,
    notifier: NotifierDep,
    background_tasks: BackgroundTasks,
) -> Hero | Response:
    """Create a hero (an `id` in the body is ignored); a duplicate name is a 409. With
    `powers`, the hero and its powers are written together (an unknown power: 422 naming
    it, and no hero)."""
    try:
        created = await heroes.create(hero)
    except ForeignKeyError as error:
        if hero.powers and error.missing:
            return unknown_powers(error, hero.powers, at=("body", "powers"))
        raise
    assert created.id is not None
    background_tasks.add_task(notifier.hero_created, created.id)
    return created


# The two busiest reads answer with their JSON bytes, their service built from the request
# (reads.py says why).


@router.get("/", response_model=list[HeroPublic], openapi_extra=HeroFilters.openapi())
async def read_heroes(
    request: Request,
    filters: Annotated[FilterQuery[Hero], HeroFilters.depends()],
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> Response:
    """Heroes ordered by id (or by `sort`), filtered by the parameters below."""
    heroes = HeroService(database_of(request))
    return json_response(await heroes.list_json(filters, offset=offset, limit=limit))


@router.get("/{hero_id}", response_model=HeroPublicWithTeam)
async def read_hero(hero_id: HeroId, request: Request) -> Response:
    return json_response(await HeroService(database_of(request)).get_json(hero_id))


@router.patch("/{hero_id}", response_model=HeroPublic)
async def update_hero(hero_id: HeroId, hero: HeroUpdate, heroes: HeroServiceDep) -> Hero:
    """Fields sent as null become null (where allowed); fields not sent are kept."""
    return await heroes.update(hero_id, hero)


@router.delete("/{hero_id}")
async def delete_hero(hero_id: HeroId, heroes: HeroServiceDep) -> dict[str, bool]:
    await heroes.delete(hero_id)
    return {"ok": True}
