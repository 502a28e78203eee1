"""/heroes/cursor with a correctly signed cursor whose values do not fit their columns (an
id or age of 2**40, a name longer than its VARCHAR(255)): 400 "invalid cursor", never a
500, on every backend."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sqlmodel_async import CursorCodec

SECRET = "a-long-random-secret-from-your-settings"


def forge(cursor: str, values: list[Any]) -> str:
    body = cursor.partition(".")[0]
    version, scope, _ = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload = json.dumps([version, scope, values], separators=(",", ":")).encode()
    signature = hmac.new(SECRET.encode(), payload, hashlib.sha256).digest()
    encode = base64.urlsafe_b64encode
    return f"{encode(payload).rstrip(b'=').decode()}.{encode(signature).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    ("order_by", "values"),
    [(None, [2**40]), ("age", [2**40, 1]), ("name", ["x" * 300, 1])],
)
async def test_a_signed_cursor_out_of_range_is_a_400(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_hero: Callable[..., Awaitable[dict[str, Any]]],
    order_by: str | None,
    values: list[Any],
) -> None:
    app.state.cursor_codec = CursorCodec(SECRET)  # the secret the attacker learned
    for i in range(2):
        await make_hero(f"hero-{i}", age=30 + i)
    params = {"limit": 1, **({"order_by": order_by} if order_by else {})}
    first = (await client.get("/heroes/cursor", params=params)).json()
    forged = forge(first["next_cursor"], values)
    response = await client.get("/heroes/cursor", params={**params, "after": forged})
    assert (response.status_code, response.json()) == (400, {"detail": "invalid cursor"})
