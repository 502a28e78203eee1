"""A `Reader`'s direct reads: on PostgreSQL with asyncpg, the projection's own statements
(by key, the unfiltered listing, a collection's children by an array of keys) go to the
driver itself, compiled once to SQL (`_driver_sql.py`), prepared and cached by asyncpg,
their rows handed to the projection as they come.

SQLAlchemy's per-execute work (execution context, cache key, result objects) is most of
what a one-row read costs in Python. A statement whose columns need SQLAlchemy to convert
values (a TypeDecorator that converts, JSON, Enum, Numeric...), a filtered list, and the
other backends run through SQLAlchemy Core on the same connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection

from ._driver_sql import DriverStatement, driver_statement, nothing_listens
from .dialects import Backend


def reads_directly(engine: AsyncEngine, backend: Backend) -> bool:
    """Whether a Reader on `engine` may send its kept statements to the driver: the
    backend allows it, the engine uses the backend's own driver, and nothing listens to
    the engine's cursor executes (echo, a query counter, tracing: they keep seeing every
    statement)."""
    return (
        backend.direct_reads
        and backend.drives(engine.dialect)
        and nothing_listens(engine.sync_engine)
    )


def prepared(statement: Any, dialect: Dialect) -> DriverStatement | None:
    """The kept `statement` compiled for the driver (once), or None when it needs
    SQLAlchemy's path."""
    return driver_statement(statement, dialect, columns=statement.selected_columns)


async def fetch(raw: PoolProxiedConnection, sql: str, arguments: list[Any]) -> Sequence[Any]:
    """The rows of `sql` from the driver's own `fetch`: asyncpg's Records, which read by
    position and by name as SQLAlchemy's rows do."""
    driver: Any = raw.driver_connection
    rows: Sequence[Any] = await driver.fetch(sql, *arguments)
    return rows
