"""JSON responses for the busiest read endpoints, serialised once.

Their services read the response schema's JSON straight from rows (`get_json()`,
`list_json()` of the library's projected reads) and the handlers return those bytes:
FastAPI does not validate a returned `Response` against `response_model=` again, and
`response_model=` still describes the operation in OpenAPI. The bytes are those FastAPI's
own path sends (the schema's serializer, by alias), without building every schema instance
and validating it a second time. Handlers of the other reads return schema instances.

These handlers also build their service from the request (`HeroService(database_of(
request))`) rather than taking it as a dependency: no dependency for FastAPI to resolve on
the requests the service answers most.
"""

from __future__ import annotations

from fastapi import Response


def json_response(body: bytes) -> Response:
    """`body` (JSON bytes) as an application/json response."""
    return Response(content=body, media_type="application/json")
