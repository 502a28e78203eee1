"""/heroes/paginated, /heroes/cursor and /heroes/export: heroes by numbered page, by
cursor page, and all of them as a stream.

Included before the /heroes/ router, so these paths never parse as a hero id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic_core import to_json

from sqlmodel_async import CursorCodec, CursorPage, FilterQuery, Page
from sqlmodel_async.streaming import encode_csv, encode_ndjson

from ..models import INT_MAX, Hero, HeroPublic
from .deps import HeroBrowserDep
from .filters import HeroFilters

router = APIRouter(prefix="/heroes", tags=["heroes"])
logger = logging.getLogger(__name__)

#: The order keys a client may ask for (`-` = descending): an allow-list, never raw SQL.
SORT_KEYS: dict[str, Any] = {
    "id": Hero.id,
    "name": Hero.name,
    "age": Hero.age,
    "power_level": Hero.power_level,
    "team_id": Hero.team_id,
}
SortKey = Literal[
    "id", "-id", "name", "-name", "age", "-age", "power_level", "-power_level",
    "team_id", "-team_id",
]
HeroFiltersDep = Annotated[FilterQuery[Hero], HeroFilters.depends()]
HERO_FILTERS = HeroFilters.openapi()  # the filter parameters in the OpenAPI document
#: The exported columns, in HeroPublic's order.
EXPORT_COLUMNS = list(HeroPublic.model_fields)
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _order(keys: list[SortKey]) -> list[Any]:
    order = []
    for key in dict.fromkeys(keys):
        column = SORT_KEYS[key.lstrip("-")]
        order.append(column.desc() if key.startswith("-") else column)
    return order


def _cursor_codec(request: Request) -> CursorCodec | None:
    """`app.state.cursor_codec` if the app set one, else the library default (the
    SQLMODEL_ASYNC_CURSOR_SECRET variable)."""
    codec = getattr(request.app.state, "cursor_codec", None)
    return codec if isinstance(codec, CursorCodec) else None


@router.get("/paginated", response_model=Page[HeroPublic], openapi_extra=HERO_FILTERS)
async def paginated_heroes(
    heroes: HeroBrowserDep,
    filters: HeroFiltersDep,
    page: Annotated[int, Query(ge=1, le=INT_MAX)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Page[HeroPublic]:
    """Numbered pages in id order (or by `sort`), with the total of the matching heroes."""
    return await heroes.page(filters, page=page, size=size, max_size=100)


@router.get("/cursor", response_model=CursorPage[HeroPublic], openapi_extra=HERO_FILTERS)
async def cursor_heroes(
    request: Request,
    heroes: HeroBrowserDep,
    filters: HeroFiltersDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: Annotated[str | None, Query(max_length=4096)] = None,
    order_by: Annotated[list[SortKey] | None, Query()] = None,
) -> CursorPage[HeroPublic]:
    """Keyset pages over `sort` (or `order_by`, repeatable: `order_by=age&order_by=-name`)
    plus id, filtered by the parameters below. Pass `next_cursor` as `after`; a tampered or
    foreign cursor, or one replayed with other filters or another order, is a 400."""
    if order_by and filters.sort:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "order_by"), "input": order_by,
              "msg": "give the order as sort or as order_by, not both"}]
        )
    return await heroes.cursor_page(
        filters, limit=limit, after=after,
        order_by=filters.order_by if filters.sort else _order(order_by or ["id"]),
        secret=_cursor_codec(request), max_size=100,
    )


@router.get("/export", openapi_extra=HERO_FILTERS)
async def export_heroes(
    heroes: HeroBrowserDep,
    filters: HeroFiltersDep,
    format: Annotated[Literal["ndjson", "csv"], Query()] = "ndjson",
) -> StreamingResponse:
    """Every matching hero in id order (or by `sort`), streamed: NDJSON, or CSV with a
    header row. Server memory stays bounded by one batch whatever the table size.

    NDJSON ends with `{"complete": true, "count": N}`; an export that fails part-way ends
    with `{"complete": false, "count": N, "error": "..."}` instead and the connection is
    closed before the chunked body's end. CSV has no in-band marker (any extra row would
    be read as a hero): a failed CSV export ends without the chunked body's last chunk,
    which HTTP clients report (curl: exit 18, httpx: RemoteProtocolError)."""
    rows = heroes.export_rows(filters)
    body = encode_csv(rows, columns=EXPORT_COLUMNS) if format == "csv" else export_ndjson(rows)
    return StreamingResponse(
        body,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="heroes.{format}"'},
    )


async def export_ndjson(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """NDJSON of `rows`, then a last line saying whether the export is complete."""
    counted = _Counted(rows)
    try:
        async for chunk in encode_ndjson(counted.rows()):
            yield chunk
    except Exception as error:
        logger.exception("export failed after %d rows", counted.count)
        failed = {"complete": False, "count": counted.count, "error": type(error).__name__}
        yield to_json(failed) + b"\n"
        raise
    yield to_json({"complete": True, "count": counted.count}) + b"\n"


class _Counted:
    def __init__(self, rows: AsyncIterator[dict[str, Any]]) -> None:
        self._rows = rows
        self.count = 0

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        async for row in self._rows:
            self.count += 1
            yield row
