"""/powers/ and a hero's powers: a many-to-many with data on the link (the level)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from sqlmodel_async import ForeignKeyError

from ..models import (
    INT_MAX,
    HeroPowerPublic,
    Power,
    PowerCreate,
    PowerLink,
    PowerPublic,
    PowerPublicWithHeroes,
)
from .deps import HeroId, PowerId, PowerServiceDep

router = APIRouter(tags=["powers"])


@router.post("/powers/", response_model=PowerPublic)
async def create_power(power: PowerCreate, powers: PowerServiceDep) -> Power:
    """Create a power; a duplicate name is a 409."""
    return await powers.create(power)


@router.get("/powers/", response_model=list[PowerPublic])
async def read_powers(
    powers: PowerServiceDep,
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> list[PowerPublic]:
    """Powers ordered by id."""
    return await powers.list(offset=offset, limit=limit)


@router.get("/powers/{power_id}", response_model=PowerPublicWithHeroes)
async def read_power(power_id: PowerId, powers: PowerServiceDep) -> PowerPublicWithHeroes:
    """The power and its heroes with their levels, by hero id."""
    return await powers.get(power_id)


@router.get("/heroes/{hero_id}/powers", response_model=list[HeroPowerPublic])
async def read_hero_powers(hero_id: HeroId, powers: PowerServiceDep) -> list[HeroPowerPublic]:
    """The hero's powers with their levels, by power id."""
    return await powers.hero_powers(hero_id)


@router.put(
    "/heroes/{hero_id}/powers",
    response_model=list[HeroPowerPublic],
    responses={404: {"description": "Hero not found"}, 422: {"description": "Unknown power"}},
)
async def replace_hero_powers(
    hero_id: HeroId, links: list[PowerLink], powers: PowerServiceDep
) -> list[HeroPowerPublic] | JSONResponse:
    """Replace the hero's powers, atomically: an unknown hero is a 404, an unknown power a
    422 naming it, and then nothing changes. A power given twice counts once (the last
    level given). Answers like `GET /heroes/{hero_id}/powers`."""
    try:
        await powers.set_hero_powers(hero_id, links)
    except ForeignKeyError as error:
        return unknown_powers(error, links)
    return await powers.hero_powers(hero_id)


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
