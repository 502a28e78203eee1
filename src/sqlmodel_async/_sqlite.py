"""SQLite's connection set-up, which `dialects.SQLITE` hooks into every engine it serves.

The sqlite3 module begins transactions itself, late and not for every statement, which
breaks SAVEPOINT; its handling is turned off and BEGIN is emitted when SQLAlchemy begins.
Files get WAL and a busy timeout so that readers and one writer work side by side.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

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
