"""MariaDB's and MySQL's mechanics behind `dialects.MYSQL`: the kind of a refusal by its
error code, the constraint and column its message names, and the column type of exact
text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import mysql

from ._driver_sql import DriverCalls
from ._error_info import ErrorInfo, driver_error

_MYSQL_KINDS = {
    1062: "unique",
    1451: "referenced",  # parent row still referenced
    1452: "foreign_key",  # no such parent row
    1048: "not_null",
    1364: "not_null",  # field has no default value
    3819: "check",  # MySQL
    4025: "check",  # MariaDB
    1792: "read_only",
    1213: "transient",  # deadlock
    1205: "transient",  # lock wait timeout
    2006: "transient",  # server has gone away
    2013: "transient",  # lost connection during query
    2055: "transient",  # lost connection (system error)
    4031: "transient",  # disconnected by the server for inactivity (wait_timeout)
    2002: "transient",  # can't connect through the socket
    2003: "transient",  # can't connect to the server (down, restarting)
    1927: "transient",  # connection was killed (KILL of this session)
}
_MYSQL_CONSTRAINT = re.compile(r"(?:for key|CONSTRAINT) [`']([^`']+)[`']")
_MYSQL_FK_COLUMN = re.compile(r"FOREIGN KEY \(`([^`]+)`\)")
_MYSQL_COLUMN = re.compile(r"(?:Column|Field) '([^']+)'")


def classify(exc: BaseException) -> ErrorInfo:
    """The kind of a MariaDB/MySQL error, and the constraint and column it names."""
    driver = driver_error(exc)
    # The (code, message) pair sits on the driver's own error; its __cause__ may be the
    # socket's OSError (errno first), which must not be read as a MySQL code.
    args: tuple[Any, ...] = ()
    for candidate in (getattr(exc, "orig", None), driver):
        if candidate is not None and not isinstance(candidate, OSError):
            args = tuple(getattr(candidate, "args", ()))
            if args and isinstance(args[0], int):
                break
    code = args[0] if args and isinstance(args[0], int) else 0
    message = str(args[1]) if len(args) > 1 else str(driver)
    kind = _MYSQL_KINDS.get(code, "other")
    constraint = _MYSQL_CONSTRAINT.search(message)
    column = _MYSQL_FK_COLUMN.search(message) or _MYSQL_COLUMN.search(message)
    key = constraint.group(1) if constraint else None
    if key is not None and "." in key:  # MySQL 8 says 'table.key'
        key = key.split(".", 1)[1]
    return ErrorInfo(kind, key, column.group(1) if column else None)


def exact_text(dialect: Any, length: int | None) -> Any:
    """Text that compares exactly (binary, NO PAD: trailing spaces count): `utf8mb4` with
    MariaDB's `utf8mb4_nopad_bin` (MySQL 8 has no such collation: `utf8mb4_0900_bin`)."""
    collation = "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else (
        "utf8mb4_0900_bin"
    )
    return mysql.VARCHAR(length, charset="utf8mb4", collation=collation)


# --- statements sent to asyncmy itself (_channel.py) ------------------------------------------


class AsyncmyCalls(DriverCalls):
    """Single-row statements on asyncmy, around SQLAlchemy's execution. `raw` is the pooled
    connection, `.driver_connection` asyncmy's own. The server begins the
    transaction at its first statement: nothing to begin here."""

    async def fetch(self, raw: Any, sql: str, arguments: Sequence[Any]) -> Sequence[Any]:
        cursor = raw.driver_connection.cursor()
        try:
            await cursor.execute(sql, tuple(arguments))
            rows: Sequence[Any] = await cursor.fetchall()
            return rows
        finally:
            await cursor.close()

    async def execute(self, raw: Any, sql: str, arguments: Sequence[Any]) -> int:
        cursor = raw.driver_connection.cursor()
        try:
            await cursor.execute(sql, tuple(arguments))
            return int(cursor.rowcount)
        finally:
            await cursor.close()
