"""JSON responses for the read endpoints, serialised once.

The handlers build their response schema straight from rows (`as_=` reads) and return the
JSON bytes themselves: FastAPI does not validate a returned `Response` against
`response_model=` again, and `response_model=` still describes the operation in OpenAPI.
The bytes are those FastAPI's own path sends (it dumps through the response model's
TypeAdapter too), without validating every field of every instance a second time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import Response
from pydantic import TypeAdapter
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, translate

_autocommit: WeakKeyDictionary[Database, AsyncEngine] = WeakKeyDictionary()


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
    engine = _autocommit.get(database)
    if engine is None:
        engine = _autocommit[database] = database.engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )
    async with database.sessionmaker(bind=engine) as session:
        try:
            yield session
        except sa_exc.DBAPIError as error:
            raise translate(error, database.backend) from error


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    # Building a TypeAdapter compiles a serializer: once per schema, not per request.
    return TypeAdapter(schema)


def json_response(schema: Any, value: Any) -> Response:
    """`value` (instances of `schema`, e.g. `list[HeroPublic]`) as an application/json
    response, by alias as FastAPI's response_model does."""
    body = _adapter(schema).dump_json(value, by_alias=True)
    return Response(content=body, media_type="application/json")
