"""/heroes/: the SQLModel tutorial's hero endpoints (API.md section 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query

from ..models import INT_MAX, Hero, HeroCreate, HeroPublic, HeroPublicWithTeam, HeroUpdate
from .deps import HeroId, HeroServiceDep, NotifierDep

router = APIRouter(prefix="/heroes", tags=["heroes"])


@router.post("/", response_model=HeroPublic)
async def create_hero(
    hero: HeroCreate,
    heroes: HeroServiceDep,
    notifier: NotifierDep,
    background_tasks: BackgroundTasks,
) -> Hero:
    """Create a hero (an `id` in the body is ignored); a duplicate name is a 409."""
    created = await heroes.create(hero)
    assert created.id is not None
    background_tasks.add_task(notifier.hero_created, created.id)
    return created


@router.get("/", response_model=list[HeroPublic])
async def read_heroes(
    heroes: HeroServiceDep,
    offset: Annotated[int, Query(ge=0, le=INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> Sequence[Hero]:
    """Heroes ordered by id."""
    return await heroes.list(offset=offset, limit=limit)


@router.get("/{hero_id}", response_model=HeroPublicWithTeam)
async def read_hero(hero_id: HeroId, heroes: HeroServiceDep) -> Hero:
    return await heroes.get(hero_id)


@router.patch("/{hero_id}", response_model=HeroPublic)
async def update_hero(hero_id: HeroId, hero: HeroUpdate, heroes: HeroServiceDep) -> Hero:
    """Fields sent as null become null (where allowed); fields not sent are kept."""
    return await heroes.update(hero_id, hero)


@router.delete("/{hero_id}")
async def delete_hero(hero_id: HeroId, heroes: HeroServiceDep) -> dict[str, bool]:
    await heroes.delete(hero_id)
    return {"ok": True}
