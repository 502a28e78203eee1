"""Bulk writes of `Repository` (bulk.py does the work): all in the caller's transaction
(nothing commits). Each call is all or nothing: a refusal anywhere in it raises the
translated DatabaseError with nothing of the call written and the caller's transaction
usable, its earlier work intact (a savepoint where there is any; see _bulk_scope.py)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, overload

from pydantic import BaseModel

from ._repository_base import ModelT, RepositoryBase
from .bulk import BulkWriter


class BulkMethods(RepositoryBase[ModelT]):
    @overload
    async def create_many(
        self, rows: Iterable[ModelT | BaseModel | Mapping[str, Any]], *,
        returning: Literal[True] = ...,
    ) -> builtins.list[ModelT]: ...

    @overload
    async def create_many(
        self, rows: Iterable[ModelT | BaseModel | Mapping[str, Any]], *, returning: Literal[False]
    ) -> int: ...

    async def create_many(
        self, rows: Iterable[ModelT | BaseModel | Mapping[str, Any]], *, returning: bool = True
    ) -> builtins.list[ModelT] | int:
        """Insert `rows` (instances, mappings or Create schemas; any iterable, read chunk by
        chunk) with the defaults the ORM would apply. `returning=True`: the instances with
        their primary keys, in input order (not added to the session: `session.merge()`
        one to change it). `returning=False`: the count, by the fastest path (COPY)."""
        return await self._bulk().create_many(rows, returning=returning)

    async def update_many(self, rows: Iterable[BaseModel | Mapping[str, Any]]) -> int:
        """Update rows by primary key: each mapping holds the key (every column of a
        composite key) and the fields to set (rows may set different fields). One statement
        per chunk; returns the number of rows found. A key given twice: the last row wins."""
        return await self._bulk().update_many(rows)

    async def upsert_many(
        self,
        rows: Iterable[ModelT | BaseModel | Mapping[str, Any]],
        *,
        conflict: Sequence[Any] | None = None,
        update: Sequence[Any] | None = None,
    ) -> int:
        """Insert `rows`, or update those whose `conflict` columns (the primary key or a
        unique key, else `InvalidDataError`) match a row: `update=` columns, by default the
        fields each row gives; `update=[]` leaves existing rows alone. Without `conflict=`,
        rows are matched on the primary key and must carry all of its columns. In-batch
        duplicates: the last wins. Returns the number of rows written (after
        de-duplication). MariaDB/MySQL have no conflict target: a collision on any unique
        key updates."""
        return await self._bulk().upsert_many(rows, conflict, update)

    async def delete_many(self, keys: Iterable[Any]) -> int:
        """Delete the rows with these primary keys (any number: PostgreSQL binds one array,
        the others are chunked under the parameter limit); returns the number deleted. A
        composite key is one tuple per row in the mapper's key order, or a mapping by
        name (a key of the wrong shape: `InvalidDataError`)."""
        return await self._bulk().delete_many(keys)

    def _bulk(self) -> BulkWriter[ModelT]:
        return BulkWriter(self.model, self.session, self.backend, self._key)
