"""/heroes/: the SQLModel tutorial's hero endpoints (API.md section 1)."""

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


# Reads: the response schema's JSON is written straight from rows, once
# (Database.reader(), reads.py); response_model= stays for the OpenAPI description.
# `database_of(request)` rather than DatabaseDep: no dependency to resolve per request.


@router.get("/", response_model=list[HeroPublic], openapi_extra=HeroFilters.openapi())
async def read_heroes(
    request: Request,
    filters: Annotated[FilterQuery[Hero], HeroFilters.depends()],
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> Response:
    """Heroes ordered by id (or by `sort`), filtered by the parameters below."""
    async with database_of(request).reader() as reader:
        body = await reader.project(Hero, HeroPublic).list_json(
            *filters, order_by=filters.order_by, offset=offset, limit=limit
        )
    return json_response(body)


@router.get("/{hero_id}", response_model=HeroPublicWithTeam)
async def read_hero(hero_id: HeroId, request: Request) -> Response:
    async with database_of(request).reader() as reader:
        body = await reader.project(Hero, HeroPublicWithTeam).get_json(hero_id)
    return json_response(body)


@router.patch("/{hero_id}", response_model=HeroPublic)
async def update_hero(hero_id: HeroId, hero: HeroUpdate, heroes: HeroServiceDep) -> Hero:
    """Fields sent as null become null (where allowed); fields not sent are kept."""
    return await heroes.update(hero_id, hero)


@router.delete("/{hero_id}")
async def delete_hero(hero_id: HeroId, heroes: HeroServiceDep) -> dict[str, bool]:
    await heroes.delete(hero_id)
    return {"ok": True}
