"""A hero's items, and a team's roster (team → heroes → items).

Both are bounded (limits.LISTING_MAX, 100): a hero's items and a team's heroes are pages
(`offset`, `limit`), and a roster lists each hero's first 100 items (every one of them
through /heroes/{id}/items).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..models import INT_MAX, Item, ItemCreate, ItemPublic, TeamRoster
from .deps import HeroId, HeroServiceDep, TeamId, TeamServiceDep
from .limits import LISTING_MAX

router = APIRouter(tags=["items"])


@router.post("/heroes/{hero_id}/items", response_model=ItemPublic)
async def create_item(hero_id: HeroId, item: ItemCreate, heroes: HeroServiceDep) -> Item:
    return await heroes.add_item(hero_id, item)


@router.get("/heroes/{hero_id}/items", response_model=list[ItemPublic])
async def read_items(
    hero_id: HeroId,
    heroes: HeroServiceDep,
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=LISTING_MAX)] = LISTING_MAX,
) -> list[ItemPublic]:
    """The hero's items in id order, at most 100 per request."""
    return await heroes.items(hero_id, offset=offset, limit=limit)


@router.get("/teams/{team_id}/roster", response_model=TeamRoster)
async def read_roster(
    team_id: TeamId,
    teams: TeamServiceDep,
    heroes_offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    heroes_limit: Annotated[int, Query(ge=0, le=LISTING_MAX)] = LISTING_MAX,
) -> TeamRoster:
    """The team, its heroes in id order (at most 100 per request: `heroes_offset` for the
    next ones) and each hero's first 100 items."""
    return await teams.roster(
        team_id, offset=heroes_offset, limit=heroes_limit, items_per_hero=LISTING_MAX
    )
