"""Bulk writes: many rows per statement, inside the caller's transaction.

`BulkWriter` backs `Repository.create_many / update_many / upsert_many / delete_many`.
Every statement runs on the session's own connection and nothing commits here. Each call
is all or nothing (`_bulk_scope.BulkScope`): a refusal in any chunk undoes the whole call,
raises the translated error and leaves the caller's transaction and earlier work as they
were, on every backend.

Rows that update or upsert existing ones (and keys to delete) are sent sorted by their key
within each chunk where rows are locked one by one (`Backend.bulk_lock_order`): two calls
writing the same keys in opposite orders then lock them in the same order and one waits
for the other instead of deadlocking.

The work is split by job: what every call shares (`_bulk_writer.py`), inserts
(`_bulk_insert.py`), updates, upserts and deletes (`_bulk_change.py`), the COPY path
(`_bulk_copy.py`), the rows (`bulk_rows.py`) and the statements (`bulk_sql.py`).

Why it is fast (benchmarks/bulk.py measures it):
- rows are checked column by column (one pydantic call per column and chunk, not one
  model instance per row) and sent as positional tuples, so the Python work per row is
  a dict merge and a tuple;
- PostgreSQL sends one array per column (`unnest`), or COPY when nothing is returned:
  the statement never grows with the rows, so there is no parameter limit to chunk for;
- SQLite and MariaDB get one compiled statement per chunk and the driver's executemany
  (SQLite steps one prepared statement in C; asyncmy rewrites an INSERT into multi-row
  VALUES), or one multi-row VALUES statement when keys must come back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlmodel import SQLModel

from ._bulk_change import ChangeMethods
from ._bulk_copy import COPY_MIN_ROWS as COPY_MIN_ROWS
from ._bulk_insert import InsertMethods
from ._bulk_writer import VALUES_ROWS as VALUES_ROWS
from ._bulk_writer import ModelT
from .errors import BulkInputError

#: Rows taken from the input at a time: bounds memory for generators of any length and
#: amortises a round trip over many rows (COPY, arrays and executemany have no
#: per-statement parameter limit; multi-row VALUES chunks are cut smaller, `VALUES_ROWS`).
CHUNK_ROWS = 20_000


def chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of at most `size` items, read lazily from `rows`."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class BulkWriter(InsertMethods[ModelT], ChangeMethods[ModelT]):
    """The bulk operations of one model on one session (see Repository for the API)."""

    async def create_many(self, rows: Iterable[Any], *, returning: bool) -> list[ModelT] | int:
        return await self._atomic(lambda: self._create_many(self._numbered(rows), returning))

    async def update_many(self, rows: Iterable[Any]) -> int:
        return await self._atomic(lambda: self._update_many(self._numbered(rows)))

    async def upsert_many(
        self, rows: Iterable[Any], conflict: Sequence[Any] | None, update: Sequence[Any] | None
    ) -> int:
        return await self._atomic(
            lambda: self._upsert_many(self._numbered(rows), conflict, update)
        )

    async def delete_many(self, ids: Iterable[Any]) -> int:
        if isinstance(ids, (str, bytes, Mapping, SQLModel)):
            raise BulkInputError("delete_many takes an iterable of primary keys")
        # Keys are small: more of them per chunk.
        return await self._atomic(lambda: self._delete_many(chunks(ids, CHUNK_ROWS * 5)))

    def _numbered(self, rows: Iterable[Any]) -> Iterator[tuple[int, list[Any]]]:
        """The input's chunks, each with the position of its first row in the input."""
        if isinstance(rows, (str, bytes, Mapping, SQLModel)):
            raise BulkInputError("rows must be an iterable of model instances or mappings")
        start = 0
        for chunk in chunks(rows, CHUNK_ROWS):
            yield start, chunk
            start += len(chunk)
