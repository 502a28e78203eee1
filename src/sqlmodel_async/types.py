"""Column types that behave the same on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

from .dialects import backend_for


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (UTC).

    PostgreSQL keeps it as `timestamptz`; SQLite and MariaDB/MySQL have no zone in their
    column types, so the value is stored as naive UTC and the zone put back on read.
    MariaDB/MySQL get `DATETIME(6)`: their plain DATETIME drops the microseconds.
    A naive datetime is refused: guessing its zone is how times silently shift.

    >>> created_at: datetime = Field(default_factory=lambda: datetime.now(UTC),
    ...                              sa_type=UTCDateTime)
    """

    impl = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
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
