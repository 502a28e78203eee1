"""/powers/ and a hero's powers: a many-to-many with data on the link (the level).

Reads are the response schema's JSON written from rows (`Database.reader()`): a power with
its heroes and their levels is two queries, a hero's powers one (two when it has none:
the second tells an unknown hero, 404, from a hero without powers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from sqlmodel_async import ForeignKeyError, NotFoundError
from sqlmodel_async.fastapi import DatabaseDep, database_of

from ..models import (
    INT_MAX,
    Hero,
    HeroPowerLink,
    HeroPowerPublic,
    HeroPublic,
    Power,
    PowerCreate,
    PowerLink,
    PowerPublic,
    PowerPublicWithHeroes,
)
from ..services import PowerService
from .deps import HeroId
from .reads import json_response

router = APIRouter(tags=["powers"])

PowerId = HeroId  # the same INTEGER range


async def power_service(database: DatabaseDep) -> PowerService:
    return PowerService(database)


PowerServiceDep = Annotated[PowerService, Depends(power_service)]


@router.post("/powers/", response_model=PowerPublic)
async def create_power(power: PowerCreate, powers: PowerServiceDep) -> Power:
    """Create a power; a duplicate name is a 409."""
    return await powers.create(power)


@router.get("/powers/", response_model=list[PowerPublic])
async def read_powers(
    request: Request,
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> Response:
    """Powers ordered by id."""
    async with database_of(request).reader() as reader:
        body = await reader.project(Power, PowerPublic).list_json(offset=offset, limit=limit)
    return json_response(body)


@router.get("/powers/{power_id}", response_model=PowerPublicWithHeroes)
async def read_power(power_id: PowerId, request: Request) -> Response:
    """The power and its heroes with their levels, by hero id."""
    async with database_of(request).reader() as reader:
        body = await reader.project(Power, PowerPublicWithHeroes).get_json(power_id)
    return json_response(body)


@router.get("/heroes/{hero_id}/powers", response_model=list[HeroPowerPublic])
async def read_hero_powers(hero_id: HeroId, request: Request) -> Response:
    """The hero's powers with their levels, by power id."""
    return await _hero_powers(request, hero_id)


@router.put(
    "/heroes/{hero_id}/powers",
    response_model=list[HeroPowerPublic],
    responses={404: {"description": "Hero not found"}, 422: {"description": "Unknown power"}},
)
async def replace_hero_powers(
    hero_id: HeroId, links: list[PowerLink], request: Request, powers: PowerServiceDep
) -> Response:
    """Replace the hero's powers, atomically: an unknown hero is a 404, an unknown power a
    422 naming it, and then nothing changes. A power given twice counts once (the last
    level given). Answers like `GET /heroes/{hero_id}/powers`."""
    try:
        await powers.set_hero_powers(hero_id, links)
    except ForeignKeyError as error:
        return unknown_powers(error, links)
    return await _hero_powers(request, hero_id)


async def _hero_powers(request: Request, hero_id: int) -> Response:
    async with database_of(request).reader() as reader:
        body = await reader.project(HeroPowerLink, HeroPowerPublic).list_json(
            order_by=[HeroPowerLink.power_id], hero_id=hero_id
        )
        if body == b"[]" and await reader.project(Hero, HeroPublic).get(hero_id) is None:
            raise NotFoundError(Hero, hero_id)
    return json_response(body)


def unknown_powers(
    error: ForeignKeyError, links: Sequence[PowerLink], *, at: tuple[str, ...] = ("body",)
) -> JSONResponse:
    """422 naming each link whose power does not exist (FastAPI's error shape); `at`: where
    the links are in the request."""
    missing = set(error.missing or ())
    detail: list[dict[str, Any]] = [
        {
            "loc": [*at, index, "power_id"],
            "msg": f"power {link.power_id} does not exist",
            "type": "foreign_key",
        }
        for index, link in enumerate(links)
        if link.power_id in missing
    ]
    if not detail:  # refused by the database itself (a power deleted meanwhile)
        detail = [{"loc": [*at, "power_id"], "msg": error.detail, "type": "foreign_key"}]
    return JSONResponse({"detail": detail}, status_code=422)
