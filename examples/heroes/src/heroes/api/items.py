"""A hero's items, and a team's roster (team → heroes → items, one nested eager load)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from ..models import Item, ItemCreate, ItemPublic, Team, TeamRoster
from .deps import HeroId, HeroServiceDep, TeamId, TeamServiceDep

router = APIRouter(tags=["items"])


@router.post("/heroes/{hero_id}/items", response_model=ItemPublic)
async def create_item(hero_id: HeroId, item: ItemCreate, heroes: HeroServiceDep) -> Item:
    return await heroes.add_item(hero_id, item)


@router.get("/heroes/{hero_id}/items", response_model=list[ItemPublic])
async def read_items(hero_id: HeroId, heroes: HeroServiceDep) -> Sequence[Item]:
    return await heroes.items(hero_id)


@router.get("/teams/{team_id}/roster", response_model=TeamRoster)
async def read_roster(team_id: TeamId, teams: TeamServiceDep) -> Team:
    return await teams.roster(team_id)
