"""Request bodies from hostile clients, over a real server: limits enforced while the body
is read (Content-Length and chunked alike), 422s that stay small, and input that cannot be
decoded answered 422, never 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from heroes.api import create_app
from heroes.api.limits import DEFAULT_MAX_BODY_BYTES, json_values
from hostile_server import raw_request, serve

from sqlmodel_async import Database

MIB = 1024 * 1024


@pytest.fixture
async def port(db: Database) -> AsyncIterator[int]:
    async with serve(create_app(database=db)) as bound:
        yield bound


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


def _json_body(answer: bytes) -> Any:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


@pytest.mark.parametrize("path", ["/heroes/", "/heroes/bulk", "/teams/"])
async def test_declared_length_over_the_cap_is_refused_before_reading(port: int, path: str) -> None:
    """1 GiB declared, 1 KiB sent: the answer comes at once (it used to never come)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: heroes\r\nContent-Type: application/json\r\n"
        f"Content-Length: {1024 * MIB}\r\n\r\n"
    ).encode()
    answer = await raw_request(port, head + b"[" * 1024)
    assert _status(answer) == 413
    assert "over" in _json_body(answer)["detail"]


async def test_chunked_body_over_the_cap_is_refused_while_reading(port: int) -> None:
    """No Content-Length: the bytes are counted as they arrive; the client is answered
    413 once the cap is passed, long before all it would send."""
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"name": "'
        for _ in range(64):  # up to 64 MiB
            sent += MIB
            yield b"x" * MIB

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        try:
            response = await client.post(
                "/heroes/", content=body(), headers={"content-type": "application/json"}
            )
        except httpx.TransportError:
            # The server answered and closed while the client was still sending: what it
            # sent is bounded all the same.
            response = None
    if response is not None:
        assert response.status_code == 413
        assert "over" in response.json()["detail"]
    assert sent < 64 * MIB


async def test_bulk_endpoints_keep_their_larger_cap(port: int) -> None:
    rows = [{"name": f"hero {i}", "secret_name": "s" * 200} for i in range(5000)]
    content = json.dumps(rows).encode()
    assert len(content) > DEFAULT_MAX_BODY_BYTES  # over the default, under the bulk cap
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        created = await client.post(
            "/heroes/bulk", content=content, headers={"content-type": "application/json"}
        )
        assert created.status_code == 200 and created.json()["created"] == 5000
    # The same body to a path with the default cap: refused before it is read (raw, since
    # the server closes the connection while an HTTP client would still be sending).
    head = (
        "POST /heroes/ HTTP/1.1\r\nHost: heroes\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(content)}\r\n\r\n"
    ).encode()
    assert _status(await raw_request(port, head + content[:1024])) == 413


async def test_millions_of_tiny_values_are_refused_before_parsing(port: int) -> None:
    """8 MiB of `{}` (under the bulk cap): refused by counting, not by parsing and
    validating 2.8 million objects and echoing them back in a 422."""
    content = b"[" + b",".join([b"{}"] * (2_800_000)) + b"]"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        health = asyncio.ensure_future(client.get("/health"))
        response = await client.post(
            "/heroes/bulk", content=content, headers={"content-type": "application/json"}
        )
        assert (await health).status_code == 200
    assert response.status_code == 413
    assert "JSON values" in response.json()["detail"]
    assert len(response.content) < 1000


async def test_422_never_echoes_large_input(port: int) -> None:
    big = "x" * (DEFAULT_MAX_BODY_BYTES // 2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        response = await client.post("/heroes/", json={"name": big, "secret_name": "s"})
        rows = await client.post("/heroes/bulk", json=[{"name": big}] * 20)
    assert response.status_code == 422
    assert len(response.content) < 2000  # it was the whole 512 KiB, and more
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert rows.status_code == 422
    assert len(rows.content) < 50_000  # 20 rows of 512 KiB each, echoed in full before


def test_json_values_counts_structure_not_strings() -> None:
    assert json_values(b'{"a": "x,y,{[z"}') == 2
    assert json_values(b'[1, 2, "a\\",b"]') == 4
    assert json_values(b"[" + b",".join([b"{}"] * 10) + b"]") == 21


# --- undecodable input -------------------------------------------------------------------

SURROGATE = b'"\\ud800"'


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/heroes/", b'{"name": ' + SURROGATE + b', "secret_name": "s"}'),
        ("POST", "/heroes/", b'{"name": "a", "secret_name": ' + SURROGATE + b"}"),
        ("POST", "/teams/", b'{"name": ' + SURROGATE + b', "headquarters": "hq"}'),
        ("POST", "/heroes/bulk", b'[{"name": ' + SURROGATE + b', "secret_name": "s"}]'),
        ("PUT", "/heroes/bulk", b'[{"name": ' + SURROGATE + b', "secret_name": "s"}]'),
        ("PATCH", "/heroes/1", b'{"name": ' + SURROGATE + b"}"),
        ("PATCH", "/teams/1", b'{"headquarters": ' + SURROGATE + b"}"),
        ("POST", "/heroes/1/items", b'{"name": ' + SURROGATE + b"}"),
        ("POST", "/heroes/", b'{"name": "\xff\xfe", "secret_name": "s"}'),  # not UTF-8
        ("POST", "/heroes/", b'{"\\udfff": 1, "name": "a"}'),  # a key
    ],
)
async def test_undecodable_input_is_422(
    port: int, make_hero: Any, make_team: Any, method: str, path: str, body: bytes
) -> None:
    await make_hero("one")
    await make_team("one")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        response = await client.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]  # a JSON body that decodes


@pytest.mark.parametrize(
    "path",
    [
        "/heroes/cursor?after=%ED%A0%80",
        "/heroes/%ED%A0%80",
        "/heroes/?limit=%FF",
        "/transfers/?hero_id=%ED%A0%80",
        "/heroes/export?format=%ED%A0%80",
    ],
)
async def test_undecodable_query_and_path_are_4xx(port: int, path: str) -> None:
    answer = await raw_request(
        port, f"GET {path} HTTP/1.1\r\nHost: heroes\r\nConnection: close\r\n\r\n".encode()
    )
    assert 400 <= _status(answer) < 500
