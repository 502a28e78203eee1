"""JSON responses for the read endpoints, serialised once.

The handlers build their response schema straight from rows (`Database.reader()` with
`as_=`) and return the JSON bytes themselves: FastAPI does not validate a returned
`Response` against `response_model=` again, and `response_model=` still describes the
operation in OpenAPI. The bytes are those FastAPI's own path sends (it dumps through the
response model's TypeAdapter too), without validating every field of every instance a
second time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Response
from pydantic import TypeAdapter


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    # Building a TypeAdapter compiles a serializer: once per schema, not per request.
    return TypeAdapter(schema)


def json_response(schema: Any, value: Any) -> Response:
    """`value` (instances of `schema`, e.g. `list[HeroPublic]`) as an application/json
    response, by alias as FastAPI's response_model does."""
    body = _adapter(schema).dump_json(value, by_alias=True)
    return Response(content=body, media_type="application/json")
