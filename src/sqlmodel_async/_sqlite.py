"""SQLite's facts behind `dialects.SQLITE`: the connection set-up it hooks into every engine
it serves, its parameter limit, and the reading of its errors.

The sqlite3 module begins transactions itself, late and not for every statement, which
breaks SAVEPOINT; its handling is turned off and BEGIN is emitted when SQLAlchemy begins.
Files get WAL and a busy timeout so that readers and one writer work side by side.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

from ._driver_sql import DriverCalls
from ._error_info import ErrorInfo, driver_error

#: Execution option naming the statement that begins a transaction (default BEGIN): a
#: connection or engine given `{BEGIN_OPTION: "BEGIN IMMEDIATE"}` begins its transactions
#: with the write lock (see `Backend.write_options`).
BEGIN_OPTION = "sqlmodel_async_begin"

#: How long a SQLite writer waits for the lock before SQLITE_BUSY, in milliseconds.
BUSY_TIMEOUT_MS = 5000


def max_params() -> int:
    """The bound-parameter limit of the SQLite library this Python links (aiosqlite uses
    the same one): 32766 by default since 3.32, 250000 in Debian's build, 999 in old ones."""
    connection = sqlite3.connect(":memory:")
    try:
        return int(connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    finally:
        connection.close()


def is_memory(url: URL) -> bool:
    """Whether the URL names a private in-memory database (it lives as long as its one
    connection)."""
    return url.database in (None, "", ":memory:")


def configure_engine(engine: Engine, url: URL) -> None:
    """Foreign keys on; WAL and a busy timeout for files; SAVEPOINT that works."""
    file_database = not is_memory(url)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if file_database:
            # The busy timeout first: switching a new file to WAL takes its lock, and
            # connections opening it at the same moment must wait for that, not fail.
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(BEGIN_OPTION, "BEGIN"))


_SQLITE_KINDS = {
    2067: "unique",  # SQLITE_CONSTRAINT_UNIQUE
    1555: "unique",  # SQLITE_CONSTRAINT_PRIMARYKEY
    787: "foreign_key",  # SQLITE_CONSTRAINT_FOREIGNKEY (either way: see Repository)
    # SQLITE_CONSTRAINT_TRIGGER: an ON DELETE/UPDATE RESTRICT action refused, so the row
    # is still referenced (other trigger failures are not foreign keys: see below).
    1811: "referenced",
    1299: "not_null",  # SQLITE_CONSTRAINT_NOTNULL
    275: "check",  # SQLITE_CONSTRAINT_CHECK
    8: "read_only",  # SQLITE_READONLY
    5: "transient",  # SQLITE_BUSY
    6: "transient",  # SQLITE_LOCKED
    261: "transient",  # SQLITE_BUSY_RECOVERY
    517: "transient",  # SQLITE_BUSY_SNAPSHOT
    262: "transient",  # SQLITE_LOCKED_SHAREDCACHE
}
_SQLITE_DETAIL = re.compile(r"constraint failed: (.+)$")


def classify(exc: BaseException) -> ErrorInfo:
    """The kind of a SQLite error, and the constraint and column it names."""
    driver = driver_error(exc)
    code = getattr(driver, "sqlite_errorcode", None)
    kind = _SQLITE_KINDS.get(code or -1) or _SQLITE_KINDS.get((code or -1) & 0xFF, "other")
    if kind == "transient" and "locked" not in str(driver) and "busy" not in str(driver).lower():
        kind = "other"
    if kind == "referenced" and "FOREIGN KEY" not in str(driver):
        kind = "other"
    column = None
    constraint = None
    match = _SQLITE_DETAIL.search(str(driver))
    if match:
        names = match.group(1).split(", ")
        if kind == "check":
            constraint = names[0]
        else:
            # "hero.name" or "hero.a, hero.b": report the column(s), without the table.
            column = ", ".join(name.rsplit(".", 1)[-1] for name in names)
    return ErrorInfo(kind, constraint, column)


# --- statements sent to aiosqlite itself (_channel.py) ------------------------------------------


class AiosqliteCalls(DriverCalls):
    """Single-row statements on aiosqlite, around SQLAlchemy's execution. `raw` is the pooled
    connection, `.driver_connection` aiosqlite's own. The engine's begin
    hook sent BEGIN when SQLAlchemy began the transaction: nothing to begin here."""

    async def fetch(self, raw: Any, sql: str, arguments: Sequence[Any]) -> Sequence[Any]:
        rows: Sequence[Any] = await raw.driver_connection.execute_fetchall(sql, arguments)
        return rows

    async def execute(self, raw: Any, sql: str, arguments: Sequence[Any]) -> int:
        cursor = await raw.driver_connection.execute(sql, arguments)
        try:
            return int(cursor.rowcount)
        finally:
            await cursor.close()
