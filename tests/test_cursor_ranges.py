"""A correctly signed cursor (the secret leaked, or copied from an example) whose values
do not fit their columns: an id or age of 2**40 in an INTEGER column, a string longer
than its VARCHAR, a non-finite float. Refused with `InvalidCursorError` (HTTP 400) on
every backend, never sent to the database (PostgreSQL refused the int4 overflow: a 500)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import registry

from sqlmodel_async import CursorCodec, Database, InvalidCursorError, Repository
from sqlmodel_async.keyset import Keyset

from .models import Hero

SECRET = "a-long-random-secret-from-your-settings"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(cursor: str, values: list[Any], secret: str = SECRET) -> str:
    """`cursor` with its values replaced, signed again with the secret (what a client who
    knows the secret can do)."""
    body = cursor.partition(".")[0]
    version, scope, _ = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload = json.dumps([version, scope, values], separators=(",", ":")).encode()
    signature = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


async def _first_cursor(db: Database, order_by: list[Any]) -> str:
    async with db.transaction() as session:
        session.add_all(
            [Hero(name=f"h{i}", secret_name="s", age=30 + i, power_level=i) for i in range(3)]
        )
    async with db.session() as session:
        page = await Repository(Hero, session).paginate_cursor(
            limit=1, order_by=order_by, secret=SECRET
        )
    assert page.next_cursor is not None
    return page.next_cursor


@pytest.mark.parametrize(
    ("order", "values"),
    [
        ("id", [2**40]),
        ("id", [-(2**31) - 1]),
        ("age", [2**40, 1]),
        ("power_level", [1e309, 1]),  # JSON's Infinity
    ],
)
async def test_out_of_range_values_are_an_invalid_cursor(
    db: Database, order: str, values: list[Any]
) -> None:
    order_by = [] if order == "id" else [getattr(Hero, order)]
    cursor = await _first_cursor(db, order_by)
    # The forged cursor passes the signature check: only its values are wrong.
    body = cursor.partition(".")[0]
    real = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))[2]
    async with db.session() as session:
        repository = Repository(Hero, session)
        ok = await repository.paginate_cursor(
            limit=5, after=forge(cursor, real), order_by=order_by, secret=SECRET
        )
        assert len(ok.items) == 2
        with pytest.raises(InvalidCursorError, match="does not fit its column"):
            await repository.paginate_cursor(
                limit=1, after=forge(cursor, values), order_by=order_by, secret=SECRET
            )
        # The session is still usable: nothing reached the database.
        assert await repository.count() == 3


@pytest.mark.parametrize(
    ("column_type", "fits", "too_big"),
    [
        (sa.SmallInteger(), 2**15 - 1, 2**15),
        (sa.Integer(), 2**31 - 1, 2**31),
        (sa.BigInteger(), 2**40, 2**63),
        (sa.String(5), "abcde", "abcdef"),
        (sa.Numeric(5, 2), "123.45", "1234.5"),
        (sa.Double(), 1.5, "NaN"),
    ],
)
def test_each_column_type_has_its_range(column_type: Any, fits: Any, too_big: Any) -> None:
    table = sa.Table(
        "sized", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True), sa.Column("value", column_type),
    )

    class Row:
        pass

    registry().map_imperatively(Row, table)
    keyset = Keyset(Row, [table.c.value])
    codec = CursorCodec(SECRET)
    assert codec.decode(keyset, codec.encode(keyset, [fits, 1]))[1] == 1
    with pytest.raises(InvalidCursorError):
        codec.decode(keyset, codec.encode(keyset, [too_big, 1]))
