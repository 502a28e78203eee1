"""JSON responses for the read endpoints, serialised once.

The handlers read their response schema's JSON straight from rows
(`Database.reader()`: `get_json()`, `list_json()`) and return those bytes: FastAPI does
not validate a returned `Response` against `response_model=` again, and `response_model=`
still describes the operation in OpenAPI. The bytes are those FastAPI's own path sends
(the schema's serializer, by alias), without an ORM object or a second validation of
every field.
"""

from __future__ import annotations

from fastapi import Response


def json_response(body: bytes) -> Response:
    """`body` (JSON bytes) as an application/json response."""
    return Response(content=body, media_type="application/json")
