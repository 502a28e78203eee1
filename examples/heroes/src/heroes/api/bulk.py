"""/heroes/bulk and /heroes/bulk-delete: many heroes per request.

Each request is one unit of work (`HeroBulkService`, through `run_in_transaction`): every
row is written or none is, and a deadlock between concurrent requests is retried rather
than answered with a 503. Included before the /heroes/ router, so `/heroes/bulk` never
parses as a hero id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from ..models import DbInt, HeroCreate, HeroUpdate
from .deps import HeroBulkServiceDep

router = APIRouter(prefix="/heroes", tags=["heroes"])

#: Rows one request may carry: more is a 422 naming the limit.
MAX_ROWS = 10_000
#: Ids one bulk-delete may carry.
MAX_IDS = 100_000
#: Bodies larger than this are refused (413) before they are read: 10,000 rows of the
#: longest valid hero stay under it.
MAX_BODY_BYTES = 32 * 1024 * 1024


async def limit_body(request: Request) -> None:
    """413 for a declared body over the cap, before FastAPI reads and parses it."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise HTTPException(413, f"request body over {MAX_BODY_BYTES} bytes")


class HeroBulkUpdate(HeroUpdate):
    """One row of PATCH /heroes/bulk: the hero's id and the fields to change."""

    id: DbInt


class BulkDelete(BaseModel):
    ids: Annotated[list[DbInt], Field(max_length=MAX_IDS)]


class Created(BaseModel):
    created: int
    ids: list[int]


class Upserted(BaseModel):
    upserted: int


class Updated(BaseModel):
    updated: int


class Deleted(BaseModel):
    deleted: int


Rows = Annotated[list[HeroCreate], Body(max_length=MAX_ROWS)]
Sized = [Depends(limit_body)]


@router.post("/bulk", response_model=Created, dependencies=Sized)
async def create_heroes(rows: Rows, heroes: HeroBulkServiceDep) -> Created:
    """Create up to 10,000 heroes in one transaction; their ids in the order sent. A name
    that exists (or is sent twice) is a 409 and nothing is created."""
    created = await heroes.create_many(rows)
    return Created(created=len(created), ids=[hero.id for hero in created if hero.id is not None])


@router.put("/bulk", response_model=Upserted, dependencies=Sized)
async def upsert_heroes(rows: Rows, heroes: HeroBulkServiceDep) -> Upserted:
    """Create or replace heroes by name (names are unique). A name sent twice: the last
    row wins. Returns how many distinct heroes were written."""
    count = await heroes.upsert_many(rows)
    return Upserted(upserted=count)


@router.patch("/bulk", response_model=Updated, dependencies=Sized)
async def update_heroes(
    rows: Annotated[list[HeroBulkUpdate], Body(max_length=MAX_ROWS)], heroes: HeroBulkServiceDep
) -> Updated:
    """Change the fields sent for each hero id (rows may change different fields); ids
    that do not exist are not counted. Returns how many heroes were found."""
    count = await heroes.update_many(rows)
    return Updated(updated=count)


@router.post("/bulk-delete", response_model=Deleted, dependencies=Sized)
async def delete_heroes(body: BulkDelete, heroes: HeroBulkServiceDep) -> Deleted:
    """Delete the heroes with these ids (their items go with them); returns how many
    existed."""
    count = await heroes.delete_many(body.ids)
    return Deleted(deleted=count)
