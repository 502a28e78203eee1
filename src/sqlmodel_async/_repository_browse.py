"""Browsing of `Repository`: offset pages, cursor pages and streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, overload

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import select

from ._repository_base import Filter, ModelT, Order, RepositoryBase, SchemaT
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
from .projection import projection_for
from .streaming import stream_instances, stream_rows


class BrowseMethods(RepositoryBase[ModelT]):
    # The overloads give `Page[Hero]` / `Page[Schema]` to type checkers, not `Page[Any]`.
    @overload
    async def paginate(
        self,
        page: int = 1,
        size: int = 50,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
    ) -> Page[ModelT]: ...

    @overload
    async def paginate(
        self,
        page: int = 1,
        size: int = 50,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[SchemaT],
    ) -> Page[SchemaT]: ...

    async def paginate(
        self,
        page: int = 1,
        size: int = 50,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
    ) -> Page[Any]:
        """Page `page` (from 1) of `size` rows, ordered by `order_by` plus the primary key
        (so equal values never swap between pages). `total`/`pages` come from a COUNT;
        `include_total=False` skips it (they are None). Bad `page`/`size` raise
        `InvalidPageError`. `as_=Schema`: items are `Schema` instances (see `get()`)."""
        keyset = Keyset(self.model, order_by)
        count = select(sa.func.count()).select_from(self.model).where(*filters)
        if as_ is not None:
            projection = projection_for(self.model, as_)
            statement: Any = self._projected_select(as_, load, filters, keyset.order_by(), {})
            return await offset_page(
                self.session, statement, count, page=page, size=size,
                include_total=include_total, max_size=max_size,
                fetch=lambda query: projection.all(self._rows(), query),
            )
        statement = self.select(*filters, order_by=keyset.order_by(), load=load)
        return await offset_page(
            self.session, statement, count, page=page, size=size,
            include_total=include_total, max_size=max_size,
        )

    @overload
    async def paginate_cursor(
        self,
        limit: int = 50,
        *filters: Filter,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
    ) -> CursorPage[ModelT]: ...

    @overload
    async def paginate_cursor(
        self,
        limit: int = 50,
        *filters: Filter,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[SchemaT],
    ) -> CursorPage[SchemaT]: ...

    async def paginate_cursor(
        self,
        limit: int = 50,
        *filters: Filter,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
    ) -> CursorPage[Any]:
        """Up to `limit` rows after the cursor `after` (None: from the start), in keyset
        order: `order_by` columns (asc, desc or mixed) plus the primary key.

        The cursor is signed with `secret` (or a `CursorCodec`; default: the
        `SQLMODEL_ASYNC_CURSOR_SECRET` variable). A tampered cursor, or one for another
        model, order or secret, raises `InvalidCursorError`. `as_=Schema`: items are
        `Schema` instances (see `get()`)."""
        keyset = Keyset(self.model, order_by)
        if as_ is not None:
            self._no_load(load)
            projection = projection_for(self.model, as_)
            statement = projection.select(*[c.column for c in keyset.columns]).where(*filters)
            return await cursor_page(
                self.session, statement, keyset,
                limit=limit, after=after, codec=codec_for(secret), backend=self.backend,
                max_size=max_size, fetch=lambda query: projection.page(self._rows(), query),
            )
        return await cursor_page(
            self.session, self.select(*filters, load=load), keyset, limit=limit,
            after=after, codec=codec_for(secret), backend=self.backend, max_size=max_size,
        )

    @overload
    def stream(
        self, batch_size: int = 1000, *filters: Filter, order_by: Sequence[Order] | None = None
    ) -> AsyncIterator[ModelT]: ...

    @overload
    def stream(
        self,
        batch_size: int = 1000,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        as_: type[SchemaT],
    ) -> AsyncIterator[SchemaT]: ...

    def stream(
        self,
        batch_size: int = 1000,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        as_: type[BaseModel] | None = None,
    ) -> AsyncIterator[Any]:
        """Every matching row once, in `order_by` + primary-key order, read `batch_size`
        rows at a time. The instances are detached (the session does not keep them): save
        changes through another session. Relationships are not loaded, except with
        `as_=Schema`: `Schema` instances with what the schema names (see `get()`)."""
        if as_ is not None:
            return projection_for(self.model, as_).stream(
                self._rows(), Keyset(self.model, order_by), filters,
                batch_size=batch_size, backend=self.backend,
            )
        return stream_instances(
            self.session, Keyset(self.model, order_by), filters,
            batch_size=batch_size, backend=self.backend,
        )

    def stream_rows(
        self,
        batch_size: int = 1000,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        columns: Sequence[str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Like `stream()`, as plain dicts of `columns` (default: all): for exports."""
        return stream_rows(
            self.session, Keyset(self.model, order_by), filters,
            batch_size=batch_size, backend=self.backend, columns=columns,
        )
