"""Reads of `Repository`: by key, by filter, counts."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any, overload

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import select

from ._repository_base import Filter, ModelT, Order, RepositoryBase, SchemaT
from .errors import NotFoundError
from .loading import Loadable, loader_options
from .projection import projection_for


class ReadMethods(RepositoryBase[ModelT]):
    @overload
    async def get(
        self, key: Any, *, load: Iterable[Loadable] = (), lock: bool = False
    ) -> ModelT | None: ...

    @overload
    async def get(self, key: Any, *, as_: type[SchemaT]) -> SchemaT | None: ...

    async def get(
        self,
        key: Any,
        *,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        lock: bool = False,
    ) -> Any:
        """The row with primary key `key`, or None.

        With `load=`, the relationships are loaded even if the object was already in the
        session (plain `session.get(..., options=...)` ignores options for such objects).
        `lock=True` reads it fresh with SELECT ... FOR UPDATE: concurrent transactions that
        lock the same row wait for this one to end (read-modify-write without lost updates;
        SQLite has no row locks, its write transactions are serialised whole).
        With `as_=Schema`, a `Schema` instance read straight from the row (projection.py):
        only its columns are selected and its relationships read with it.
        """
        if as_ is not None:
            return await self._projected_get(key, load, as_)
        options = loader_options(load)
        instance: ModelT | None = await self.session.get(
            self.model,
            key,
            options=options,
            populate_existing=bool(options) or lock,
            with_for_update=lock or None,
        )
        return instance

    @overload
    async def get_one(
        self, key: Any, *, load: Iterable[Loadable] = (), lock: bool = False
    ) -> ModelT: ...

    @overload
    async def get_one(self, key: Any, *, as_: type[SchemaT]) -> SchemaT: ...

    async def get_one(
        self,
        key: Any,
        *,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        lock: bool = False,
    ) -> Any:
        """The row with primary key `key`; raises `NotFoundError` if there is none."""
        instance = await (
            self.get(key, load=load, lock=lock)
            if as_ is None
            else self._projected_get(key, load, as_)
        )
        if instance is None:
            raise NotFoundError(self.model, key)
        return instance

    async def get_many(
        self, keys: Sequence[Any], *, load: Iterable[Loadable] = (), missing: str = "raise"
    ) -> builtins.list[ModelT]:
        """The rows for `keys`, in the order of `keys`, in one round trip.

        `missing="raise"` raises `NotFoundError` whose `.missing` lists the absent keys;
        `missing="skip"` leaves them out.
        """
        if missing not in ("raise", "skip"):
            raise ValueError("missing= must be 'raise' or 'skip'")
        column = self.primary_key
        options = loader_options(load)
        found: dict[Any, ModelT] = {}
        for clause in self.backend.membership(column, list(dict.fromkeys(keys))):
            statement = select(self.model).where(clause).options(*options)
            if options:
                statement = statement.execution_options(populate_existing=True)
            for instance in (await self.session.exec(statement)).unique():
                found[getattr(instance, column.key)] = instance
        absent = [key for key in keys if key not in found]
        if absent and missing == "raise":
            raise NotFoundError(self.model, missing=absent)
        return [found[key] for key in keys if key in found]

    # would win (list[Hero] for list(as_=HeroPublic)).
    @overload
    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        as_: type[SchemaT],
        **equals: Any,
    ) -> builtins.list[SchemaT]: ...

    @overload
    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> builtins.list[ModelT]: ...

    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        **equals: Any,
    ) -> builtins.list[Any]:
        """Rows matching `filters` and `equals`, ordered by `order_by` (default: the primary
        key, so pages are stable). `as_=Schema`: `Schema` instances (see `get()`)."""
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        if as_ is not None and not (filters or order_by or equals):
            self._no_load(load)
            return await projection_for(self.model, as_).listing_all(self._rows(), offset, limit)
        statement: Any = (
            self.select(*filters, order_by=order_by, load=load, **equals)
            if as_ is None
            else self._projected_select(as_, load, filters, order_by, equals)
        )
        if offset:
            statement = statement.offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        if as_ is not None:
            return await projection_for(self.model, as_).all(self._rows(), statement)
        return builtins.list((await self.session.exec(statement)).unique().all())

    @overload
    async def first(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        as_: type[SchemaT],
        **equals: Any,
    ) -> SchemaT | None: ...

    @overload
    async def first(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> ModelT | None: ...

    async def first(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        **equals: Any,
    ) -> Any:
        """The first row matching, in `order_by` order (default: primary key), or None."""
        if as_ is not None:
            found = await self.list(
                *filters, order_by=order_by, limit=1, load=load, as_=as_, **equals
            )
            return found[0] if found else None
        statement = self.select(*filters, order_by=order_by, load=load, **equals).limit(1)
        return (await self.session.exec(statement)).unique().first()

    async def _projected_get(
        self, key: Any, load: Iterable[Loadable], schema: type[SchemaT]
    ) -> SchemaT | None:
        self._no_load(load)
        found: SchemaT | None = await projection_for(self.model, schema).get(self._rows(), key)
        return found

    async def count(self, *filters: Filter, **equals: Any) -> int:
        statement = (
            select(sa.func.count())
            .select_from(self.model)
            .where(*filters, *self._equals(equals))
        )
        return int((await self.session.exec(statement)).one())

    async def exists(self, *filters: Filter, **equals: Any) -> bool:
        statement = select(sa.exists().where(*filters, *self._equals(equals)))
        return bool((await self.session.exec(statement)).one())
