"""Request body limits, enforced while the body is read (an ASGI middleware).

FastAPI reads a body whole and parses it before any handler or dependency runs, so a limit
checked there comes too late: a client declaring a gigabyte is waited for, a chunked body
(no Content-Length) carries no size to check, and a body of millions of tiny JSON values
(`[{}, {}, ...]`) costs seconds of parsing and validation on the event loop, during which
every other request waits. `BodyLimit` sits in front of the app and:

- answers 413 at once when the declared Content-Length is over the path's cap, without
  reading the body;
- counts the bytes as they arrive (Content-Length and chunked alike) and answers 413 as soon
  as they pass the cap, without reading the rest;
- counts the body's JSON values (commas and brackets outside strings, one C-speed pass)
  before anything parses it, and answers 413 when there are more than the path allows.

Both answers are JSON (`{"detail": "..."}`) and close the connection (the rest of the body
is never read). Caps are per path, exact match; every other path gets the default.

A JSON body that is not valid UTF-8 is a 422 here too, like any other invalid input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Bytes a request body may carry on a path with no cap of its own: a hero, a team or a
#: list of power links is a few hundred bytes; a megabyte leaves room for any real client.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: JSON values (objects, arrays, scalars) a body may carry on such a path.
DEFAULT_MAX_JSON_VALUES = 10_000

#: The most rows a nested or audit listing returns per request (`limit` of /transfers/ and
#: /heroes/{id}/items, heroes of /teams/{id} and /teams/{id}/roster, items per hero of a
#: roster); the default too. More are reached with `offset`.
LISTING_MAX = 100

#: A JSON string, escapes included; what is left once they are removed is JSON's structure.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


@dataclass(frozen=True)
class Cap:
    """How much one request body may carry: bytes, and JSON values."""

    max_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_values: int = DEFAULT_MAX_JSON_VALUES


def json_values(body: bytes) -> int:
    """An upper bound of the number of JSON values in `body`: one per comma, one per
    object or array opened, plus one (exact for JSON with no empty object or array)."""
    structure = _JSON_STRING.sub(b"", body)
    return structure.count(b",") + structure.count(b"{") + structure.count(b"[") + 1


class BodyLimit:
    """ASGI middleware: `app` behind per-path body caps (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, default: Cap = Cap(), paths: Mapping[str, Cap] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.paths = dict(paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, announced = _framing(scope)
        if not announced and scope.get("http_version") in _FRAMED_BY_HEADERS:
            # HTTP/1.x: no Content-Length and no Transfer-Encoding is a request without a
            # body (most GETs), so there is nothing to count or check.
            await self.app(scope, receive, send)
            return
        cap = self.paths.get(_route_path(scope), self.default)
        if declared is not None and declared > cap.max_bytes:
            await _refuse(send, f"request body over {cap.max_bytes} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        disconnected: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                disconnected = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap.max_bytes:
                await _refuse(send, f"request body over {cap.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if size and json_values(body) > cap.max_values:
            await _refuse(send, f"request body over {cap.max_values} JSON values")
            return
        if size and _json_content(scope) and not _utf8(body):
            # FastAPI would answer 400 "There was an error parsing the body"; undecodable
            # input is invalid input like any other.
            await _refuse(send, _NOT_UTF8, status=422)
            return
        await self.app(scope, _replay(body, disconnected, receive), send)


_NOT_UTF8 = [{"type": "json_invalid", "loc": ["body"], "msg": "JSON body is not valid UTF-8",
              "input": None}]


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_content(scope: Scope) -> bool:
    """Whether FastAPI would parse the body as JSON: a JSON media type, or none."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return True


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


#: HTTP versions whose requests carry a body only when their headers announce one.
_FRAMED_BY_HEADERS = frozenset({"1.0", "1.1"})


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None when absent or not a number), and whether the
    headers announce a body at all (Content-Length or Transfer-Encoding)."""
    length: int | None = None
    announced = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
            announced = True
        elif name == b"transfer-encoding":
            announced = True
    return length, announced


def _replay(body: bytes, disconnected: Message | None, receive: Receive) -> Receive:
    """A `receive` that gives the body read here as one message, then waits on the
    client's own (a disconnect during a streamed response still reaches the app)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if disconnected is not None:
        pending.append(disconnected)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _refuse(send: Send, detail: Any, *, status: int = 413) -> None:
    content = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            # The rest of the body is never read: the connection cannot carry another request.
            (b"connection", b"close"),
        ],
    })
    await send({"type": "http.response.body", "body": content})
