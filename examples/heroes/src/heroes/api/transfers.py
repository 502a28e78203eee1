"""Hero transfers between teams and the transfer log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..models import INT_MAX, INT_MIN, Hero, HeroPublic, TransferLogPublic, TransferRequest
from .deps import HeroId, HeroServiceDep
from .limits import LISTING_MAX

router = APIRouter(tags=["transfers"])


@router.post("/heroes/{hero_id}/transfer", response_model=HeroPublic)
async def transfer_hero(hero_id: HeroId, body: TransferRequest, heroes: HeroServiceDep) -> Hero:
    """Move the hero to `team_id` and log it, atomically. 404 for an unknown hero, 422 for
    an unknown team."""
    return await heroes.transfer(hero_id, body.team_id)


@router.get("/transfers/", response_model=list[TransferLogPublic])
async def read_transfers(
    heroes: HeroServiceDep,
    hero_id: Annotated[int | None, Query(ge=INT_MIN, le=INT_MAX)] = None,
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=LISTING_MAX)] = LISTING_MAX,
) -> list[TransferLogPublic]:
    """The transfer log, newest first; `?hero_id=` for one hero's. At most 100 entries
    per request (`limit`); `offset` for the older ones."""
    return await heroes.transfers(hero_id, offset=offset, limit=limit)
