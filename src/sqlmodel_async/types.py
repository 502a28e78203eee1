"""Column types that behave the same on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from .dialects import MICROSECOND_TIMESTAMP, backend_for, known_backend


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (UTC).

    PostgreSQL keeps it as `timestamptz`; SQLite and MariaDB/MySQL have no zone in their
    column types, so the value is stored as naive UTC and the zone put back on read.
    MariaDB/MySQL get `DATETIME(6)`: their plain DATETIME drops the microseconds.
    A naive datetime is refused: guessing its zone is how times silently shift.

    >>> created_at: datetime = Field(default_factory=lambda: datetime.now(UTC),
    ...                              sa_type=UTCDateTime)
    """

    impl = MICROSECOND_TIMESTAMP
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime takes a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"UTCDateTime takes timezone-aware datetimes, got {value!r}")
        utc = value.astimezone(UTC)
        return utc if backend_for(dialect.name).timestamps_keep_zone else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite read through a raw SQL expression
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


class ExactText(sa.TypeDecorator[str]):
    """A VARCHAR(length) whose values compare exactly, byte for byte, on every backend:
    for unique text columns (names, codes, slugs) that must not treat two different
    strings as one.

    PostgreSQL and SQLite compare text exactly already. MariaDB/MySQL compare by the
    column's collation, whose defaults ignore case and accents and, worse for a unique
    key, trailing spaces (PAD SPACE: `'B'` equals `'B '`, so an upsert of `'B '`
    overwrites the row of `'B'`). There this type is `utf8mb4` with a binary NO PAD
    collation (MariaDB `utf8mb4_nopad_bin`, MySQL 8 `utf8mb4_0900_bin`).

    >>> name: str = Field(sa_type=ExactText(255), unique=True)
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        # The generic compiler (str(statement), a statement's digest) has no Backend: a
        # plain string there.
        backend = known_backend(dialect.name)
        exact = backend.exact_text(dialect, self.length) if backend is not None else None
        return dialect.type_descriptor(exact if exact is not None else sa.String(self.length))

    @property
    def python_type(self) -> type[str]:
        return str

    def __repr__(self) -> str:
        return f"ExactText({self.length!r})" if self.length is not None else "ExactText()"


def exact_text(length: int | None = None) -> ExactText:
    """`ExactText(length)`: for `Field(sa_type=exact_text(255), unique=True)`."""
    return ExactText(length)
