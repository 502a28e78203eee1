"""JSON responses for the read endpoints, serialised once.

The handlers build their response schema straight from rows (`as_=` reads) and return the
JSON bytes themselves: FastAPI does not validate a returned `Response` against
`response_model=` again, and `response_model=` still describes the operation in OpenAPI.
The bytes are those FastAPI's own path sends (it dumps through the response model's
TypeAdapter too), without validating every field of every instance a second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import Response
from pydantic import TypeAdapter
from sqlalchemy import exc as sa_exc
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, translate

_readers: WeakKeyDictionary[Database, _Reader] = WeakKeyDictionary()


@asynccontextmanager
async def read_session(database: Database) -> AsyncIterator[AsyncSession]:
    """A session for a read endpoint whose statements each commit on their own.

    A read needs no transaction of its own: no BEGIN and no ROLLBACK round trips around
    its SELECTs (the connection and the pool stay shared with every other session; only the
    isolation level of this checkout differs). Each statement still sees one consistent
    snapshot; a team and its heroes are read by two statements, as under PostgreSQL's
    default READ COMMITTED anyway. Measured with benchmarks/http.py (GET /heroes/{id}):
    BEGIN + SELECT + ROLLBACK is three round trips where this is one.
    """
    found = _readers.get(database)
    if found is None:
        found = _readers[database] = _Reader(database)
    async with found.gate, database.sessionmaker(bind=found.engine) as session:
        try:
            yield session
        except sa_exc.DBAPIError as error:
            raise translate(error, database.backend) from error


class _Reader:
    """The autocommit view of a Database's engine, and a gate as wide as its pool.

    The gate: requests beyond the pool's size wait on an asyncio.Semaphore (FIFO, one
    future each) instead of in the pool's own queue (a `wait_for` per waiter, and no
    order). Measured with wrk on GET /heroes/{id}, pool 10: 64 connections gave 414 req/s
    and p99 955 ms against 677 req/s and p99 88 ms at 10 connections; with the gate, see
    benchmarks/results/http.json.
    """

    def __init__(self, database: Database) -> None:
        pool: Any = database.engine.pool
        size = getattr(pool, "size", lambda: 1)()
        # QueuePool keeps its overflow limit private; -1 means unlimited: no gate needed.
        overflow = getattr(pool, "_max_overflow", 0)
        width = 1_000_000 if overflow < 0 else max(1, size + overflow)
        self.engine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.gate = asyncio.Semaphore(width)


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    # Building a TypeAdapter compiles a serializer: once per schema, not per request.
    return TypeAdapter(schema)


def json_response(schema: Any, value: Any) -> Response:
    """`value` (instances of `schema`, e.g. `list[HeroPublic]`) as an application/json
    response, by alias as FastAPI's response_model does."""
    body = _adapter(schema).dump_json(value, by_alias=True)
    return Response(content=body, media_type="application/json")
