"""`Projected[Schema]`: the one way to read a response schema, through a session or a
`Reader` alike.

>>> heroes = Repository(Hero, session).project(HeroPublic)        # in a transaction
>>> heroes = reader.project(Hero, HeroPublicWithTeam)              # no session at all
>>> await heroes.get_one(1)                                        # a HeroPublicWithTeam
>>> await heroes.paginate(Hero.age > 30, page=2, size=10)          # Page[HeroPublicWithTeam]
>>> body = await heroes.get_json(1)                                # a response's bytes

The schema decides what is selected (projection.py): its columns, a many-to-one LEFT
JOINed, a collection by one more keyed query; its instances are built straight from the
rows, with no ORM instance in between. The JSON forms write the bytes FastAPI writes for
`response_model=Schema` (or `list[Schema]`, `Page[Schema]`, `CursorPage[Schema]`), from
plain dicts where that gives the same bytes (schema_json.py).

Everything that depends only on (model, schema) is planned once and cached
(`_projected_plan.ReadPlan`): a `Projected` is a thin pair (plan, source), so making one
per request costs next to nothing, and the reads take the same fast paths as before (the
unfiltered listing and the by-key statement are kept, so the Reader may send them to the
driver directly: `Backend.direct_reads`).

Read methods take filters positionally and first, everything else by keyword, and
`**equals` (`team_id=1`) wherever they take filters.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic_core import to_json

from ._browse_arguments import check_cursor_call, check_page_call, check_stream_call
from ._projected_plan import WhileOpen
from ._projected_plan import plan_for as plan_for
from .errors import NotFoundError
from .pagination import (
    MAX_PAGE_SIZE,
    CursorCodec,
    CursorPage,
    Page,
    codec_for,
    cursor_statement,
    page_total,
)
from .projection import RowSource
from .query import check_filters, check_option, equals_clauses, ordering

SchemaT = TypeVar("SchemaT", bound=BaseModel)

#: A WHERE condition such as `Hero.age > 30`.
Filter = sa.ColumnExpressionArgument[bool] | bool
#: An ORDER BY item such as `Hero.name` or `Hero.name.desc()`.
Order = Any

_LIST_OPTIONS = "order_by, offset, limit"
_PAGE_OPTIONS = "page, size, order_by, include_total, max_size"
_CURSOR_OPTIONS = "limit, after, order_by, secret, max_size"
_STREAM_OPTIONS = "batch_size, order_by"


class Projected(Generic[SchemaT]):
    """Reads of `model`'s rows as `schema` instances (or their JSON) from one source: a
    session (`Repository(Model, session).project(Schema)`) or a `Reader`
    (`reader.project(Model, Schema)`). Valid as long as its session or reader is."""

    __slots__ = ("_plan", "_source")

    def __init__(self, model: type[Any], schema: type[SchemaT], source: RowSource) -> None:
        self._plan = plan_for(model, schema)
        self._source = source

    @property
    def model(self) -> type[Any]:
        return self._plan.projection.model

    @property
    def schema(self) -> type[SchemaT]:
        schema: type[SchemaT] = self._plan.projection.schema
        return schema

    # --- by key ---------------------------------------------------------------------------

    async def get(self, key: Any) -> SchemaT | None:
        """The row with primary key `key` (a tuple or mapping for a composite key), or
        None."""
        found: SchemaT | None = await self._get(key, plain=False)
        return found

    async def get_one(self, key: Any) -> SchemaT:
        """Like `get()`; raises `NotFoundError` when there is no such row."""
        found: SchemaT | None = await self._get(key, plain=False)
        if found is None:
            raise NotFoundError(self._plan.projection.model, key)
        return found

    async def get_json(self, key: Any) -> bytes:
        """`get_one()`'s instance as JSON bytes, as FastAPI writes a `response_model=Schema`
        body; raises `NotFoundError` when there is no such row."""
        serializer = self._plan.one
        found = await self._get(key, plain=serializer.plain)
        if found is None:
            raise NotFoundError(self._plan.projection.model, key)
        return serializer.dump(found)

    async def _get(self, key: Any, *, plain: bool) -> Any:
        plan = self._plan
        source = self._source
        rows = await source.fetch(plan.by_key, plan.key_parameters(key), reusable=True)
        if not rows:
            return None
        return (await plan.projection.build(source, rows, plain=plain))[0]

    # --- by filter ------------------------------------------------------------------------

    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        **equals: Any,
    ) -> builtins.list[SchemaT]:
        """Rows matching `filters` and `equals`, ordered by `order_by` (None: the primary
        key; `()`: no ORDER BY), from `offset`, at most `limit`."""
        check_filters("list", filters, _LIST_OPTIONS)
        found: builtins.list[SchemaT] = await self._list(
            filters, order_by, offset, limit, equals, plain=False
        )
        return found

    async def list_json(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        **equals: Any,
    ) -> bytes:
        """`list()` as a JSON array, as FastAPI writes `response_model=list[Schema]`."""
        check_filters("list_json", filters, _LIST_OPTIONS)
        serializer = self._plan.many
        found = await self._list(filters, order_by, offset, limit, equals, plain=serializer.plain)
        return serializer.dump(found)

    async def first(
        self, *filters: Filter, order_by: Sequence[Order] | None = None, **equals: Any
    ) -> SchemaT | None:
        """The first row matching, in `order_by` order (default: primary key), or None."""
        check_filters("first", filters, "order_by")
        found = await self._list(filters, order_by, 0, 1, equals, plain=False)
        return found[0] if found else None

    async def count(self, *filters: Filter, **equals: Any) -> int:
        """How many rows match."""
        check_filters("count", filters, "no other argument")
        return await self._count(filters, equals)

    async def exists(self, *filters: Filter, **equals: Any) -> bool:
        """Whether any row matches."""
        check_filters("exists", filters, "no other argument")
        projection = self._plan.projection
        where: builtins.list[Any] = [*filters, *equals_clauses(projection.model, equals)]
        statement = projection.select().with_only_columns(sa.literal(1)).where(*where)
        return bool(await self._source.fetch(statement.limit(1)))

    async def _list(
        self,
        filters: Sequence[Any],
        order_by: Sequence[Order] | None,
        offset: int,
        limit: int | None,
        equals: Mapping[str, Any],
        *,
        plain: bool,
    ) -> builtins.list[Any]:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            check_option("list", "offset", offset)
            raise ValueError(f"offset must be an integer >= 0, got {offset!r}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):
            check_option("list", "limit", limit)
            raise ValueError(f"limit must be an integer >= 0, got {limit!r}")
        projection = self._plan.projection
        if order_by is None and not filters and not equals:
            return await projection.listing_all(self._source, offset, limit, plain=plain)
        model = projection.model
        statement = projection.select().where(*filters, *equals_clauses(model, equals))
        statement = statement.order_by(*ordering(model, order_by))
        if offset:
            statement = statement.offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        return await projection.all(self._source, statement, plain=plain)

    async def _count(self, filters: Sequence[Any], equals: Mapping[str, Any]) -> int:
        # The projection's FROM (its LEFT JOINs included), so a filter on a joined table
        # counts what list() would list; the databases drop an unused join to a unique key.
        projection = self._plan.projection
        statement = projection.select().with_only_columns(sa.func.count())
        statement = statement.where(*filters, *equals_clauses(projection.model, equals))
        rows = await self._source.fetch(statement)
        return int(rows[0][0])

    # --- pages ----------------------------------------------------------------------------

    async def paginate(
        self,
        *filters: Filter,
        page: int = 1,
        size: int = 50,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        **equals: Any,
    ) -> Page[SchemaT]:
        """Page `page` (from 1) of `size` rows, ordered by `order_by` plus the primary key.
        `total`/`pages` come from a COUNT (skipped on a short last page);
        `include_total=False` skips it (they are None). Bad `page`/`size` raise
        `InvalidPageError`."""
        check_page_call(
            "paginate", filters, _PAGE_OPTIONS, page=page, size=size, max_size=max_size
        )
        items, total, pages = await self._page(
            filters, page, size, order_by, include_total, equals, plain=False
        )
        return Page(items=items, total=total, page=page, size=size, pages=pages)

    async def paginate_json(
        self,
        *filters: Filter,
        page: int = 1,
        size: int = 50,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        **equals: Any,
    ) -> bytes:
        """`paginate()` as FastAPI writes `response_model=Page[Schema]`."""
        check_page_call(
            "paginate_json", filters, _PAGE_OPTIONS, page=page, size=size, max_size=max_size
        )
        serializer = self._plan.many
        items, total, pages = await self._page(
            filters, page, size, order_by, include_total, equals, plain=serializer.plain
        )
        return b"".join((
            b'{"items":', serializer.dump(items), b',"total":', _number(total),
            b',"page":', _number(page), b',"size":', _number(size),
            b',"pages":', _number(pages), b"}",
        ))

    async def _page(
        self,
        filters: Sequence[Any],
        page: int,
        size: int,
        order_by: Sequence[Order] | None,
        include_total: bool,
        equals: Mapping[str, Any],
        *,
        plain: bool,
    ) -> tuple[builtins.list[Any], int | None, int | None]:
        plan = self._plan
        projection = plan.projection
        offset = (page - 1) * size
        keyset = plan.keyset_for(order_by)
        statement = projection.select().where(
            *filters, *equals_clauses(projection.model, equals)
        )
        statement = statement.order_by(*keyset.order_by()).offset(offset).limit(size)
        items = await projection.all(self._source, statement, plain=plain)
        total, pages = await page_total(
            len(items), offset, size, include_total, lambda: self._count(filters, equals)
        )
        return items, total, pages

    async def paginate_cursor(
        self,
        *filters: Filter,
        limit: int = 50,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        **equals: Any,
    ) -> CursorPage[SchemaT]:
        """Up to `limit` rows after the cursor `after` (None: from the start), in keyset
        order: `order_by` columns plus the primary key. The cursor is signed with `secret`
        (or a `CursorCodec`; default: the `SQLMODEL_ASYNC_CURSOR_SECRET` variable); a
        tampered or foreign one raises `InvalidCursorError`."""
        check_cursor_call(
            "paginate_cursor", filters, _CURSOR_OPTIONS, limit=limit, max_size=max_size
        )
        items, next_cursor = await self._cursor_page(
            filters, limit, after, order_by, secret, equals, plain=False
        )
        return CursorPage(items=items, next_cursor=next_cursor)

    async def paginate_cursor_json(
        self,
        *filters: Filter,
        limit: int = 50,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        **equals: Any,
    ) -> bytes:
        """`paginate_cursor()` as FastAPI writes `response_model=CursorPage[Schema]`."""
        check_cursor_call(
            "paginate_cursor_json", filters, _CURSOR_OPTIONS, limit=limit, max_size=max_size
        )
        serializer = self._plan.many
        items, next_cursor = await self._cursor_page(
            filters, limit, after, order_by, secret, equals, plain=serializer.plain
        )
        return b"".join((
            b'{"items":', serializer.dump(items), b',"next_cursor":', to_json(next_cursor), b"}"
        ))

    async def _cursor_page(
        self,
        filters: Sequence[Any],
        limit: int,
        after: str | None,
        order_by: Sequence[Order] | None,
        secret: str | bytes | CursorCodec | None,
        equals: Mapping[str, Any],
        *,
        plain: bool,
    ) -> tuple[builtins.list[Any], str | None]:
        plan = self._plan
        projection = plan.projection
        keyset = plan.keyset_for(order_by)
        codec = codec_for(secret)
        # The keyset's values ride along after the schema's columns (for the next cursor).
        statement = projection.select(*(column.column for column in keyset.columns))
        statement, binding = cursor_statement(
            statement.where(*filters, *equals_clauses(projection.model, equals)), keyset,
            limit=limit, after=after, codec=codec, backend=self._source.backend,
        )
        rows = await self._source.fetch(statement)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = codec.encode(
                keyset, list(rows[-1][projection.width :]), binding=binding
            )
        return await projection.build(self._source, rows, plain=plain), next_cursor

    # --- streams --------------------------------------------------------------------------

    def stream(
        self,
        *filters: Filter,
        batch_size: int = 1000,
        order_by: Sequence[Order] | None = None,
        **equals: Any,
    ) -> AsyncIterator[SchemaT]:
        """Every matching row once, as schema instances, in `order_by` + primary-key order,
        read `batch_size` rows per statement (keyset batches: no cursor stays open between
        them). Through a `Reader`, consume it inside the reader's block: the reader's
        connection is held for the block, and a stream that outlives it raises."""
        check_stream_call("stream", filters, _STREAM_OPTIONS, batch_size=batch_size)
        plan = self._plan
        projection = plan.projection
        source = self._source
        if hasattr(source, "closed"):  # a Reader: its connection is valid for its block
            source = WhileOpen(source)
        return projection.stream(
            source, plan.keyset_for(order_by),
            [*filters, *equals_clauses(projection.model, equals)],
            batch_size=batch_size, backend=source.backend,
        )


def _number(value: int | None) -> bytes:
    return b"null" if value is None else str(value).encode()
