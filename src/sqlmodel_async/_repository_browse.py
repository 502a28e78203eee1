"""Browsing of `Repository`: offset pages, cursor pages and streams of model instances.

Like every read, they take filters positionally and first and everything else by keyword:
`paginate(Hero.age > 30, page=2, size=10, team_id=1)`. The same reads as response
schemas are on `project(Schema)` (projected.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from ._browse_arguments import check_cursor_call, check_page_call, check_stream_call
from ._repository_base import Filter, ModelT, Order, RepositoryBase
from .keyset import Keyset
from .loading import Loadable
from .pagination import (
    MAX_PAGE_SIZE,
    CursorCodec,
    CursorPage,
    Page,
    codec_for,
    cursor_page,
    offset_page,
)
from .streaming import stream_instances, stream_rows


class BrowseMethods(RepositoryBase[ModelT]):
    async def paginate(
        self,
        *filters: Filter,
        page: int = 1,
        size: int = 50,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> Page[ModelT]:
        """Page `page` (from 1) of `size` rows, ordered by `order_by` plus the primary key
        (so equal values never swap between pages). `total`/`pages` come from a COUNT;
        `include_total=False` skips it (they are None). Bad `page`/`size` raise
        `InvalidPageError`."""
        check_page_call(
            "paginate", filters, "page, size, order_by, include_total, max_size, load",
            page=page, size=size, max_size=max_size,
        )
        keyset = Keyset(self.model, order_by)
        where = [*filters, *self._equals(equals)]
        count = select(sa.func.count()).select_from(self.model).where(*where)
        statement = self.select(*where, order_by=keyset.order_by(), load=load)
        return await offset_page(
            self.session, statement, count, page=page, size=size,
            include_total=include_total, max_size=max_size,
        )

    async def paginate_cursor(
        self,
        *filters: Filter,
        limit: int = 50,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> CursorPage[ModelT]:
        """Up to `limit` rows after the cursor `after` (None: from the start), in keyset
        order: `order_by` columns (asc, desc or mixed) plus the primary key (every column
        of a composite one).

        The cursor is signed with `secret` (or a `CursorCodec`; default: the
        `SQLMODEL_ASYNC_CURSOR_SECRET` variable). A tampered cursor, or one for another
        model, order or secret, raises `InvalidCursorError`."""
        check_cursor_call(
            "paginate_cursor", filters, "limit, after, order_by, secret, max_size, load",
            limit=limit, max_size=max_size,
        )
        keyset = Keyset(self.model, order_by)
        return await cursor_page(
            self.session, self.select(*filters, load=load, **equals), keyset, limit=limit,
            after=after, codec=codec_for(secret), backend=self.backend, max_size=max_size,
        )

    def stream(
        self,
        *filters: Filter,
        batch_size: int = 1000,
        order_by: Sequence[Order] | None = None,
        **equals: Any,
    ) -> AsyncIterator[ModelT]:
        """Every matching row once, in `order_by` + primary-key order, read `batch_size`
        rows at a time. The instances are detached (the session does not keep them): save
        changes through another session. Relationships are not loaded (a schema's are:
        `project(Schema).stream()`)."""
        check_stream_call("stream", filters, "batch_size, order_by", batch_size=batch_size)
        return stream_instances(
            self.session, Keyset(self.model, order_by), [*filters, *self._equals(equals)],
            batch_size=batch_size, backend=self.backend,
        )

    def stream_rows(
        self,
        *filters: Filter,
        batch_size: int = 1000,
        order_by: Sequence[Order] | None = None,
        columns: Sequence[str] | None = None,
        **equals: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """Like `stream()`, as plain dicts of `columns` (default: all): for exports."""
        check_stream_call(
            "stream_rows", filters, "batch_size, order_by, columns", batch_size=batch_size
        )
        return stream_rows(
            self.session, Keyset(self.model, order_by), [*filters, *self._equals(equals)],
            batch_size=batch_size, backend=self.backend, columns=columns,
        )
