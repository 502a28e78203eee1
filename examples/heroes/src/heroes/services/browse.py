"""Heroes by numbered page, by cursor page, and all of them as an export stream."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel_async import CursorCodec, CursorPage, Database, FilterQuery, Page

from ..models import Hero, HeroPublic

#: Heroes read per batch of an export (one short checkout each).
EXPORT_BATCH = 1000
#: Signs the export's own batch cursors, which never leave the process.
_EXPORT_CURSORS = CursorCodec(secrets.token_bytes(32))


class HeroBrowser:
    def __init__(self, database: Database) -> None:
        self.db = database

    async def page(
        self, filters: FilterQuery[Hero], *, page: int, size: int, max_size: int
    ) -> Page[HeroPublic]:
        """Page `page` of the heroes `filters` select, in their order, with the total."""
        async with self.db.reader() as reader:
            return await reader.project(Hero, HeroPublic).paginate(
                *filters, page=page, size=size, order_by=filters.order_by, max_size=max_size
            )

    async def cursor_page(
        self,
        filters: FilterQuery[Hero],
        *,
        limit: int,
        after: str | None,
        order_by: list[Any] | None,
        secret: CursorCodec | None,
        max_size: int,
    ) -> CursorPage[HeroPublic]:
        """The `limit` heroes after cursor `after` in `order_by` (plus id); a cursor signed
        with another secret, or for other filters or another order, is refused."""
        async with self.db.reader() as reader:
            return await reader.project(Hero, HeroPublic).paginate_cursor(
                *filters, limit=limit, after=after, order_by=order_by, secret=secret,
                max_size=max_size,
            )

    async def export_rows(self, filters: FilterQuery[Hero]) -> AsyncIterator[dict[str, Any]]:
        """Every hero that `filters` select, in their order, as dicts of HeroPublic's
        fields: one keyset batch (a cursor page) at a time, each on a reader opened for
        that batch alone.

        Between batches nothing is held: the rows are sent while no connection or
        transaction is open, so a client that reads slowly (or stops reading) holds its
        socket and one batch of memory, never a pooled connection or a lock. The walk is
        not one snapshot: a row is sent once if it exists throughout; rows added or
        removed during the export may or may not appear."""
        after: str | None = None
        while True:
            page = await self.cursor_page(
                filters, limit=EXPORT_BATCH, after=after, order_by=filters.order_by,
                secret=_EXPORT_CURSORS, max_size=EXPORT_BATCH,
            )
            for hero in page.items:
                yield hero.model_dump()
            if page.next_cursor is None:
                return
            after = page.next_cursor
