"""Reads of `Repository`: model instances by key and by filter, counts, and plain rows
(`rows()` as dicts, `tuples()`) for reads that need no instance at all.

Model instances are for changing rows; to answer a request, `project(Schema)` reads the
response schema straight from the rows (projected.py).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from ._by_key import ORM, get_by_key
from ._repository_base import Filter, ModelT, Order, RepositoryBase
from .errors import NotFoundError
from .loading import Loadable, loader_options
from .projection import fetch_rows
from .query import check_filters, check_option


class ReadMethods(RepositoryBase[ModelT]):
    async def get(
        self, key: Any, *, load: Iterable[Loadable] = (), lock: bool = False
    ) -> ModelT | None:
        """The row with primary key `key` (a tuple in key order, or a mapping by name, for
        a composite key), or None. A key of the wrong shape is an `InvalidDataError`.

        With `load=`, the relationships are loaded even if the object was already in the
        session (plain `session.get(..., options=...)` ignores options for such objects).
        `lock=True` reads it fresh with SELECT ... FOR UPDATE: concurrent transactions that
        lock the same row wait for this one to end (read-modify-write without lost updates;
        SQLite has no row locks, its write transactions are serialised whole).
        """
        options = loader_options(load)
        if not options and not lock:
            found = await get_by_key(
                self.session, self.backend, self._mapper, self._key.values(key)
            )
            if found is not ORM:
                return found  # type: ignore[no-any-return]
        instance: ModelT | None = await self.session.get(
            self.model,
            self._key.identity(key),
            options=options,
            populate_existing=bool(options) or lock,
            with_for_update=lock or None,
        )
        return instance

    async def get_one(
        self, key: Any, *, load: Iterable[Loadable] = (), lock: bool = False
    ) -> ModelT:
        """The row with primary key `key`; raises `NotFoundError` if there is none."""
        instance = await self.get(key, load=load, lock=lock)
        if instance is None:
            raise NotFoundError(self.model, key)
        return instance

    async def get_many(
        self, keys: Sequence[Any], *, load: Iterable[Loadable] = (), missing: str = "raise"
    ) -> builtins.list[ModelT]:
        """The rows for `keys`, in the order of `keys`, in one round trip (per chunk of
        the driver's parameter limit).

        `missing="raise"` raises `NotFoundError` whose `.missing` lists the absent keys;
        `missing="skip"` leaves them out. A composite key is one tuple (or mapping) per row.
        """
        if missing not in ("raise", "skip"):
            raise ValueError("missing= must be 'raise' or 'skip'")
        key = self._key
        identities = [key.identity(given) for given in keys]
        options = loader_options(load)
        wanted = list(dict.fromkeys(identities))
        found: dict[Any, ModelT] = {}
        for clause in key.membership(self.backend, wanted):
            statement = select(self.model).where(clause).options(*options)
            if options:
                statement = statement.execution_options(populate_existing=True)
            for instance in (await self.session.exec(statement)).unique():
                found[key.of(instance)] = instance
        absent = [
            given for given, identity in zip(keys, identities, strict=True)
            if identity not in found
        ]
        if absent and missing == "raise":
            raise NotFoundError(self.model, missing=absent)
        return [found[identity] for identity in identities if identity in found]

    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> builtins.list[ModelT]:
        """Rows matching `filters` and `equals`, ordered by `order_by` (None: the primary
        key, so pages are stable; `()`: no ORDER BY)."""
        check_filters("list", filters, "order_by, offset, limit, load")
        statement = self._limited(
            self.select(*filters, order_by=order_by, load=load, **equals), offset, limit
        )
        return builtins.list((await self.session.exec(statement)).unique().all())

    async def first(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> ModelT | None:
        """The first row matching, in `order_by` order (None: primary key; `()`: whichever
        the database finds first), or None."""
        check_filters("first", filters, "order_by, load")
        statement = self.select(*filters, order_by=order_by, load=load, **equals).limit(1)
        return (await self.session.exec(statement)).unique().first()

    async def count(self, *filters: Filter, **equals: Any) -> int:
        check_filters("count", filters, "no other argument")
        statement = (
            select(sa.func.count())
            .select_from(self.model)
            .where(*filters, *self._equals(equals))
        )
        return int((await self.session.exec(statement)).one())

    async def exists(self, *filters: Filter, **equals: Any) -> bool:
        check_filters("exists", filters, "no other argument")
        where: builtins.list[Any] = [*filters, *self._equals(equals)]
        statement = select(sa.exists().where(*where))
        return bool((await self.session.exec(statement)).one())

    # --- plain rows -------------------------------------------------------------------

    async def rows(
        self,
        *filters: Filter,
        columns: Sequence[str] | None = None,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        **equals: Any,
    ) -> builtins.list[dict[str, Any]]:
        """Matching rows as plain dicts of `columns` (attribute names; default: every
        column), ordered as `list()` orders: no ORM instance, no identity map, for reads
        whose result is data rather than objects to change."""
        check_filters("rows", filters, "columns, order_by, offset, limit")
        names, statement = self._plain_select(filters, columns, order_by, offset, limit, equals)
        found = await fetch_rows(self.session, statement)
        return [dict(zip(names, row, strict=True)) for row in found]

    async def tuples(
        self,
        *filters: Filter,
        columns: Sequence[str] | None = None,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        **equals: Any,
    ) -> builtins.list[tuple[Any, ...]]:
        """Like `rows()`, as tuples in `columns` order: the leanest read there is."""
        check_filters("tuples", filters, "columns, order_by, offset, limit")
        _, statement = self._plain_select(filters, columns, order_by, offset, limit, equals)
        return [tuple(row) for row in await fetch_rows(self.session, statement)]

    def _plain_select(
        self,
        filters: Sequence[Any],
        columns: Sequence[str] | None,
        order_by: Sequence[Order] | None,
        offset: int,
        limit: int | None,
        equals: dict[str, Any],
    ) -> tuple[tuple[str, ...], Any]:
        available = self._mapper.column_attrs
        if columns is None:
            names = tuple(prop.key for prop in available)
        else:
            if isinstance(columns, str):
                raise TypeError(f"columns= takes a list of names, got {columns!r}")
            unknown = [name for name in columns if name not in available]
            if unknown:
                raise ValueError(
                    f"{self.model.__name__} has no column(s) {', '.join(map(repr, unknown))}"
                )
            names = tuple(columns)
        selected = [available[name].columns[0] for name in names]
        statement = sa.select(*selected).where(*filters, *self._equals(equals))
        statement = statement.order_by(*self.ordering(order_by))
        return names, self._limited(statement, offset, limit)

    @staticmethod
    def _limited(statement: Any, offset: int, limit: int | None) -> Any:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            check_option("list", "offset", offset)
            raise ValueError(f"offset must be an integer >= 0, got {offset!r}")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            check_option("list", "limit", limit)
            raise ValueError(f"limit must be an integer >= 0, got {limit!r}")
        if offset:
            statement = statement.offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        return statement
