"""Pages: `Page[T]` (numbered, with a total) and `CursorPage[T]` (keyset, with a signed,
opaque cursor to the next page).

Numbered pages are what a UI with page links needs; their cost grows with the depth
(the database still walks the OFFSET rows). Cursor pages cost the same at any depth and
never skip or repeat a row when rows are inserted or deleted between requests.

The cursor carries the last row's order values, signed with HMAC-SHA256: a client cannot
forge a position, and a cursor from another model, another order, or signed with another
secret is refused with `InvalidCursorError` (HTTP 400). So is a cursor replayed with other
filters: the signature covers a digest of the query's WHERE clause and its values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import warnings
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from annotated_types import Interval, MaxLen
from pydantic import BaseModel, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_jsonable_python
from sqlmodel.ext.asyncio.session import AsyncSession

from .dialects import Backend
from .errors import ConfigurationError
from .errors import InsecureCursorSecretWarning as InsecureCursorSecretWarning
from .errors import InvalidCursorError as InvalidCursorError
from .errors import InvalidPageError as InvalidPageError
from .keyset import Keyset

T = TypeVar("T")

#: The largest page size (and cursor limit) unless `max_size=` says otherwise.
MAX_PAGE_SIZE = 1000
#: The environment variable the default cursor secret is read from.
CURSOR_SECRET_ENV = "SQLMODEL_ASYNC_CURSOR_SECRET"
_CURSOR_VERSION = 1


class Page(BaseModel, Generic[T]):
    """One numbered page. `total` and `pages` are None when the count was skipped."""

    items: list[T]
    total: int | None
    page: int
    size: int
    pages: int | None


class CursorPage(BaseModel, Generic[T]):
    """One keyset page; pass `next_cursor` as `after=` for the next one (None: last page)."""

    items: list[T]
    next_cursor: str | None


# --- the cursor codec -------------------------------------------------------------------


class CursorCodec:
    """Signs and checks cursors with HMAC-SHA256 under `secret` (at least 16 bytes).

    Every process that serves the same clients needs the same secret: configure it, e.g.
    `CursorCodec(settings.cursor_secret)` or the `SQLMODEL_ASYNC_CURSOR_SECRET` variable.
    """

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else bytes(secret)
        if len(key) < 16:
            raise ConfigurationError("the cursor secret must be at least 16 bytes long")
        self._key = key

    def encode(self, keyset: Keyset, values: Sequence[Any], *, binding: str = "") -> str:
        """A cursor to the row after `values`. `binding` (see `filter_binding()`) ties it to
        the filters of the query that issued it."""
        payload = json.dumps(
            [_CURSOR_VERSION, _scope(keyset, binding), to_jsonable_python(list(values))],
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, keyset: Keyset, cursor: str, *, binding: str = "") -> list[Any]:
        """The order values in `cursor`, typed as the columns; raises InvalidCursorError,
        also for a cursor issued with other filters (`binding`) than this query's."""
        body, dot, signature = cursor.partition(".")
        if not dot:
            raise InvalidCursorError("malformed")
        try:
            payload = _unb64(body)
            given = _unb64(signature)
        except (binascii.Error, ValueError):
            raise InvalidCursorError("malformed") from None
        if not hmac.compare_digest(given, self._sign(payload)):
            raise InvalidCursorError("bad signature (tampered, or signed with another secret)")
        try:
            version, scope, values = json.loads(payload)
        except (ValueError, TypeError):
            raise InvalidCursorError("malformed") from None
        if version != _CURSOR_VERSION or scope != _scope(keyset, binding):
            raise InvalidCursorError("issued for another model or order, or other filters")
        if not isinstance(values, list) or len(values) != len(keyset.columns):
            raise InvalidCursorError("malformed")
        try:
            return [
                None if value is None else _adapter(column.column.type).validate_python(value)
                for column, value in zip(keyset.columns, values, strict=True)
            ]
        except PydanticValidationError:
            # Of the wrong type, or out of its column's range: a signed cursor may still
            # carry such a value (it was forged with a leaked secret), and the database
            # would refuse it (PostgreSQL: an integer out of int4's range).
            raise InvalidCursorError("a value does not fit its column") from None

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()


def _scope(keyset: Keyset, binding: str) -> str:
    # Without filters, the keyset's scope alone: cursors issued before filters existed
    # stay valid.
    return f"{keyset.scope}.{binding}" if binding else keyset.scope


#: Compiled WHERE text by statement shape (SQLAlchemy's cache key): bounded, like
#: SQLAlchemy's own compiled cache.
_where_texts: dict[Any, str] = {}


def filter_binding(statement: Any) -> str:
    """A short digest of `statement`'s WHERE clause, its values included ("" when it has
    none): a cursor signed with it is refused by a query with other filters.

    The shape is compiled to text once (the generic SQL compiler: the same on every backend
    and in every process); a request hashes that text with its bound values.
    """
    where = getattr(statement, "whereclause", None)
    if where is None:
        return ""
    cache_key = where._generate_cache_key()
    if cache_key is None:  # an element SQLAlchemy cannot cache: compiled every time
        compiled = where.compile()
        text = compiled.string
        values: list[Any] = [compiled.params[name] for name in sorted(compiled.params)]
    else:
        text = _where_texts.get(cache_key.key, "")
        if not text:
            text = where.compile().string
            if len(_where_texts) < 4096:
                _where_texts[cache_key.key] = text
        values = [bind.effective_value for bind in cache_key.bindparams]
    body = json.dumps([text, to_jsonable_python(values, fallback=repr)], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@cache
def _adapter(column_type: Any) -> TypeAdapter[Any]:
    """Turns a cursor's JSON value back into the column's Python type (datetime, Decimal,
    UUID...), within the column's range (`_bounds`); untyped columns take the JSON value
    as it is."""
    python_type: Any = Any
    while column_type is not None:
        try:
            python_type = column_type.python_type
        except Exception:  # a type that cannot say: the JSON value is used as it is
            python_type = Any
        if python_type is not object:
            break
        # A TypeDecorator that does not say: its Python values are those of the type it wraps.
        column_type = getattr(column_type, "impl_instance", None)
        python_type = Any
    bounds = _bounds(column_type) if python_type is not Any else []
    return TypeAdapter(Annotated[python_type, *bounds] if bounds else python_type)


#: Bits of the integer column types, narrowest first (subclasses of sa.Integer).
_INTEGER_BITS = ((sa.SmallInteger, 16), (sa.BigInteger, 64), (sa.Integer, 32))


def _bounds(column_type: Any) -> list[Any]:
    """The range of values `column_type` stores on every backend: INTEGER is 32 bits
    (PostgreSQL and MariaDB; use BigInteger for more), a VARCHAR its length, a float
    finite, a NUMERIC its digits."""
    while isinstance(column_type, sa.TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.Integer):
        bits = next(bits for kind, bits in _INTEGER_BITS if isinstance(column_type, kind))
        return [Interval(ge=-(2 ** (bits - 1)), le=2 ** (bits - 1) - 1)]
    if isinstance(column_type, sa.String) and column_type.length:
        return [MaxLen(column_type.length)]
    if isinstance(column_type, sa.Float):
        return [Field(allow_inf_nan=False)]
    if isinstance(column_type, sa.Numeric) and column_type.asdecimal:
        precision, scale = column_type.precision, column_type.scale
        return [Field(allow_inf_nan=False, max_digits=precision, decimal_places=scale)]
    return []


@cache
def default_codec() -> CursorCodec:
    """The codec for `SQLMODEL_ASYNC_CURSOR_SECRET`, or, if unset, a random secret for this
    process with a warning (cursors then do not survive a restart or cross workers)."""
    secret = os.environ.get(CURSOR_SECRET_ENV)
    if secret:
        return CursorCodec(secret)
    warnings.warn(
        f"{CURSOR_SECRET_ENV} is not set: cursors are signed with a random per-process "
        "secret (fine for development; set it, or pass secret=, in production)",
        InsecureCursorSecretWarning,
        stacklevel=2,
    )
    return CursorCodec(secrets.token_bytes(32))


def codec_for(secret: str | bytes | CursorCodec | None) -> CursorCodec:
    if secret is None:
        return default_codec()
    return secret if isinstance(secret, CursorCodec) else CursorCodec(secret)


# --- the queries ------------------------------------------------------------------------


def check_size(name: str, value: int, max_size: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= max_size:
        raise InvalidPageError(
            name, f"{name} must be an integer from 1 to {max_size}, got {value!r}"
        )


def check_page(page: int, size: int, max_size: int) -> None:
    """InvalidPageError unless `page` is an integer from 1 and `size` one from 1 to
    `max_size`."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidPageError("page", f"page must be an integer >= 1, got {page!r}")
    check_size("size", size, max_size)


async def page_total(
    found: int, offset: int, size: int, include_total: bool,
    count: Callable[[], Awaitable[int]],
) -> tuple[int | None, int | None]:
    """`(total, pages)` of a page that found `found` rows from `offset`; both None without
    `include_total`.

    The total comes from its own COUNT (`count()`), so it stays right past the last page
    (a window `count(*) OVER ()` would say 0 there). A short page gives the total without
    it.
    """
    if not include_total:
        return None, None
    if found and found < size:
        total = offset + found  # the last page: no COUNT needed
    else:
        total = await count()
    return total, -(-total // size)


def cursor_statement(
    statement: Any, keyset: Keyset, *, limit: int, after: str | None, codec: CursorCodec,
    backend: Backend,
) -> tuple[Any, str]:
    """`statement` narrowed to the rows after the cursor `after` (if any), in keyset
    order, one row more than `limit` (it tells whether there is a next page); and the
    binding of its filters that the next cursor is signed with (`filter_binding`), so a
    cursor replayed with other filters is refused."""
    binding = filter_binding(statement)
    if after:
        values = codec.decode(keyset, after, binding=binding)
        statement = statement.where(keyset.after(values, backend))
    return statement.order_by(*keyset.order_by()).limit(limit + 1), binding


async def offset_page(
    session: AsyncSession,
    statement: Any,
    count: Any,
    *,
    page: int,
    size: int,
    include_total: bool,
    max_size: int,
    fetch: Callable[[Any], Awaitable[list[Any]]] | None = None,
) -> Page[Any]:
    """Page `page` of `statement` (already ordered), with the total from `count`
    (`page_total`). `fetch(statement)` runs it (default: the session, as ORM instances).
    The caller has checked `page` and `size` (`check_page`, up to `max_size`).
    """
    offset = (page - 1) * size
    statement = statement.offset(offset).limit(size)
    if fetch is not None:
        items = await fetch(statement)
    else:
        items = list((await session.exec(statement)).unique().all())

    async def counted() -> int:
        return int((await session.exec(count)).one())

    total, pages = await page_total(len(items), offset, size, include_total, counted)
    return Page(items=items, total=total, page=page, size=size, pages=pages)


async def cursor_page(
    session: AsyncSession,
    statement: Any,
    keyset: Keyset,
    *,
    limit: int,
    after: str | None,
    codec: CursorCodec,
    backend: Backend,
    max_size: int,
    fetch: Callable[[Any], Awaitable[tuple[list[Any], list[list[Any]]]]] | None = None,
) -> CursorPage[Any]:
    """Up to `limit` rows of `statement` (its own order replaced by the keyset's) after
    the row that `after` points at; `next_cursor` is None on the last page.
    `fetch(statement)` runs it, giving the items and each one's keyset values (default:
    ORM instances). The caller has checked `limit` (`check_size`, up to `max_size`)."""
    statement, binding = cursor_statement(
        statement.order_by(None), keyset, limit=limit, after=after, codec=codec,
        backend=backend,
    )
    keys: list[list[Any]] | None = None
    if fetch is not None:
        items, keys = await fetch(statement)
    else:
        items = list((await session.exec(statement)).unique().all())
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = keyset.values_of(items[-1]) if keys is None else keys[limit - 1]
        next_cursor = codec.encode(keyset, last, binding=binding)
    return CursorPage(items=items, next_cursor=next_cursor)
