"""Streams: every row of a table, in a stable order, exactly once, in bounded memory; and
NDJSON / CSV encoders for exporting them.

Rows are read in keyset batches (`WHERE key > last ORDER BY key LIMIT batch_size`): each
batch is one indexed range query, so the whole walk is O(n) (the seed's OFFSET loop is
O(n^2) and, with no ORDER BY, skips or repeats rows when rows change). Between batches the
connection holds no open cursor, so the session stays usable and the walk works the same on
every backend.

Streamed instances never enter the session: they are built detached from plain rows. The
session does not grow with the table, and building them this way is faster than the
ORM's own loading (benchmarks/streaming.py measures it). Being detached with their
identity, they can be changed and saved through another session:

>>> async for hero in heroes.stream():
...     async with db.transaction() as writer:
...         hero.power_level += 1
...         writer.add(hero)          # an UPDATE, no SELECT
"""

from __future__ import annotations

import csv
import datetime
import io
import operator
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import instance_state
from sqlmodel.ext.asyncio.session import AsyncSession

from .dialects import Backend
from .keyset import Keyset

#: Bytes an encoder gathers before it yields a chunk (one write per chunk, not per row).
CHUNK_SIZE = 64 * 1024


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")


async def stream_batches(
    session: AsyncSession,
    keyset: Keyset,
    filters: Sequence[Any],
    *,
    batch_size: int,
    backend: Backend,
    columns: Sequence[str] | None = None,
) -> AsyncIterator[tuple[tuple[str, ...], list[Any]]]:
    """Batches of plain rows (tuples) of `keyset.model`, in keyset order; yields the
    attribute name of each tuple position alongside.

    `columns` (attribute names) narrows the SELECT; the keyset's own columns are always
    fetched, since the next batch starts after the last row's key.
    """
    _check_batch_size(batch_size)
    mapper = keyset.mapper
    keys = _column_keys(mapper, columns)
    fetched = keys + tuple(key for key in keyset.keys if key not in keys)
    selected = [mapper.columns[key] for key in fetched]
    key_positions = [fetched.index(key) for key in keyset.keys]
    base: Any = sa.select(*selected).where(*filters).order_by(*keyset.order_by()).limit(batch_size)
    statement = base
    while True:
        rows = list((await session.exec(statement)).all())
        if not rows:
            return
        yield fetched, rows
        if len(rows) < batch_size:
            return
        last = rows[-1]
        statement = base.where(keyset.after([last[i] for i in key_positions], backend))


def _column_keys(mapper: Mapper[Any], columns: Sequence[str] | None) -> tuple[str, ...]:
    available = [prop.key for prop in mapper.column_attrs]
    if columns is None:
        return tuple(available)
    unknown = [name for name in columns if name not in available]
    if unknown:
        raise ValueError(f"{mapper.class_.__name__} has no column(s) {', '.join(unknown)}")
    return tuple(columns)


async def stream_instances(
    session: AsyncSession,
    keyset: Keyset,
    filters: Sequence[Any],
    *,
    batch_size: int,
    backend: Backend,
) -> AsyncIterator[Any]:
    """Detached model instances, in keyset order (see the module docstring)."""
    build: Callable[[Any], Any] | None = None
    async for keys, rows in stream_batches(
        session, keyset, filters, batch_size=batch_size, backend=backend
    ):
        if build is None:
            build = _builder(keyset.mapper, keys)
        for row in rows:
            yield build(row)


def _builder(mapper: Mapper[Any], keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """A function that turns one row (values in `keys` order) into a detached instance, as
    the ORM would load it.

    What `make_transient_to_detached()` does, without its per-object identity lookups and
    expiry bookkeeping: a fresh instance state, the column values in its `__dict__`, and the
    identity key: clearly faster per object than both `make_transient_to_detached()` and
    the straightforward version (dict(zip()), inspect(), a generator for the key), as
    benchmarks/streaming.py shows. Relationships stay unloaded.
    """
    new_instance = mapper.class_manager.new_instance
    identity = mapper.identity_key_from_primary_key
    pk_positions = [keys.index(mapper.get_property_by_column(c).key) for c in mapper.primary_key]
    primary_key = operator.itemgetter(*pk_positions)
    single = len(pk_positions) == 1

    def build(row: Any) -> Any:
        instance = new_instance()
        instance.__dict__.update(zip(keys, row, strict=True))
        key = primary_key(row)
        instance_state(instance).key = identity((key,) if single else key)
        return instance

    return build


async def stream_rows(
    session: AsyncSession,
    keyset: Keyset,
    filters: Sequence[Any],
    *,
    batch_size: int,
    backend: Backend,
    columns: Sequence[str] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Plain dicts (attribute name → value), in keyset order: for exports that need no
    ORM objects. Only `columns` appear in them, when given."""
    # The requested columns come first in each row; key columns added for the walk follow.
    width = len(_column_keys(keyset.mapper, columns))
    async for keys, rows in stream_batches(
        session, keyset, filters, batch_size=batch_size, backend=backend, columns=columns
    ):
        names = keys[:width]
        for row in rows:
            yield dict(zip(names, row[:width], strict=True))


# --- encoders -------------------------------------------------------------------------------


async def encode_ndjson(
    rows: AsyncIterable[Mapping[str, Any]], *, chunk_size: int = CHUNK_SIZE
) -> AsyncIterator[bytes]:
    """One JSON object per line (UTF-8, `\\n`-terminated), in chunks of about
    `chunk_size` bytes. Dates and times are ISO 8601, decimals and UUIDs strings.

    When `rows` fails part-way, the lines of the rows it gave are written before the
    error propagates: what was read is never silently dropped."""
    buffer: list[bytes] = []
    size = 0
    try:
        async for row in rows:
            line = to_json(row if isinstance(row, dict) else dict(row)) + b"\n"
            buffer.append(line)
            size += len(line)
            if size >= chunk_size:
                yield b"".join(buffer)
                buffer.clear()
                size = 0
    except Exception:
        if buffer:
            yield b"".join(buffer)
        raise
    if buffer:
        yield b"".join(buffer)


async def encode_csv(
    rows: AsyncIterable[Mapping[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    header: bool = True,
    chunk_size: int = CHUNK_SIZE,
    neutralise_formulas: bool = True,
) -> AsyncIterator[bytes]:
    """RFC 4180 CSV (UTF-8, CRLF, fields with commas, quotes or newlines quoted), with a
    header row of `columns` (default: the first row's keys). NULL is an empty field;
    dates and times are ISO 8601.

    With `columns` given, the header is written even when there are no rows.

    Text that a spreadsheet would run as a formula (a cell starting with `=`, `+`, `-`,
    `@`, a tab or a carriage return: `=HYPERLINK(...)`, `@SUM(...)`) is written with a `'`
    in front, which spreadsheets show as text; numbers are written as they are.
    `neutralise_formulas=False` writes text verbatim (for a reader that is not a
    spreadsheet and must get the exact value back).

    When `rows` fails part-way, the rows it gave are written before the error propagates.
    """
    text = io.StringIO()
    writer = csv.writer(text)
    cell = _cell if neutralise_formulas else _plain_cell
    names: list[str] | None = list(columns) if columns is not None else None
    if names is not None and header:
        writer.writerow(names)
    try:
        async for row in rows:
            if names is None:
                names = list(row)
                if header:
                    writer.writerow(names)
            writer.writerow([cell(row[name]) for name in names])
            if text.tell() >= chunk_size:
                yield text.getvalue().encode()
                text.seek(0)
                text.truncate()
    except Exception:
        if text.tell():
            yield text.getvalue().encode()
        raise
    if text.tell():
        yield text.getvalue().encode()


_PLAIN = (str, int, float, type(None))
#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """`value` as a CSV field; text that would be read as a formula gets a `'` in front."""
    if isinstance(value, str):
        text = value if type(value) is str else str(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return _plain_cell(value)


def _plain_cell(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value
