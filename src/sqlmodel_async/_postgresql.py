"""PostgreSQL's mechanics behind `dialects.POSTGRESQL`: its errors (the kind of a refusal
by its SQLSTATE, the constraint and column it names, the errors that leave a connection
unusable) and the sequence calls bulk inserts take keys with."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ._compat import adapter_in_transaction, begin_adapter_transaction
from ._driver_sql import DriverCalls
from ._error_info import ErrorInfo, driver_error

_PG_KINDS = {
    "23505": "unique",
    "23503": "foreign_key",
    "23502": "not_null",
    "23514": "check",
    "25006": "read_only",
    "40001": "transient",  # serialization_failure
    "40P01": "transient",  # deadlock_detected
    "57P01": "transient",  # admin_shutdown (server restart, pg_terminate_backend)
    "57P02": "transient",  # crash_shutdown
    "57P03": "transient",  # cannot_connect_now
    "53300": "transient",  # too_many_connections
}
_PG_KEY_COLUMNS = re.compile(r"Key \(([^)]+)\)")


def is_disconnect(exc: BaseException) -> bool:
    """True for an error that leaves the connection unusable though the driver does not
    report a disconnect."""
    # asyncpg's InternalClientError ("cannot switch to state N; another operation is in
    # progress") means its protocol state is broken, as seen on pooled connections right
    # after their server backends were terminated: nothing more can run on it.
    return type(driver_error(exc)).__name__ == "InternalClientError"


def classify(exc: BaseException) -> ErrorInfo:
    """The kind of a PostgreSQL error, and the constraint and column it names."""
    driver = driver_error(exc)
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(driver, "sqlstate", None) or getattr(orig, "sqlstate", None) or ""
    kind = _PG_KINDS.get(sqlstate) or ("transient" if sqlstate.startswith("08") else "other")
    detail = getattr(driver, "detail", None) or ""
    if kind == "foreign_key" and "still referenced" in detail:
        return ErrorInfo("referenced", getattr(driver, "constraint_name", None))
    column = getattr(driver, "column_name", None)
    if column is None:
        match = _PG_KEY_COLUMNS.search(detail)
        column = match.group(1) if match else None
    return ErrorInfo(kind, getattr(driver, "constraint_name", None), column)


# --- bulk writes ----------------------------------------------------------------------------


def sequence_of(table: str, column: str) -> Any:
    """The SELECT of the sequence behind an auto-increment column."""
    return sa.select(sa.func.pg_get_serial_sequence(table, column))


def take_keys(sequence: str, n: int) -> Any:
    """The SELECT of one array of `n` keys taken from `sequence`, in one round trip."""
    return sa.select(sa.func.array_agg(sa.func.nextval(sequence))).select_from(
        sa.func.generate_series(1, n)
    )


def raised_by_driver(error: BaseException) -> bool:
    """Whether asyncpg itself raised `error` (not SQLAlchemy's wrapper of it)."""
    return "asyncpg" in type(error).__module__


# --- statements sent to asyncpg itself (_channel.py) -----------------------------------------


class AsyncpgCalls(DriverCalls):
    """Single-row statements on asyncpg, around SQLAlchemy's execution. `raw` is the
    pooled connection: `.driver_connection` is asyncpg's, `.dbapi_connection` the
    adapter, which begins its transaction lazily before its first statement: a statement
    sent around it begins it the same way."""

    bulk_rows = True

    async def begin(self, raw: Any) -> None:
        await begin_adapter_transaction(raw.dbapi_connection)

    def reads_before_begin(self, raw: Any, dialect: Any) -> bool:
        """Whether a plain read may go before BEGIN: nothing sent in the transaction yet,
        at READ COMMITTED (every statement takes its own snapshot there, so the read sees
        what it would have seen inside)."""
        adapter = raw.dbapi_connection
        if adapter_in_transaction(adapter):
            return False
        level = adapter.isolation_level
        if level is None:  # the server's default, as the dialect read it at first connect
            level = dialect.default_isolation_level
        return str(level).replace("_", " ").upper() in ("READ COMMITTED", "AUTOCOMMIT")

    async def fetch(self, raw: Any, sql: str, arguments: Sequence[Any]) -> Sequence[Any]:
        rows: Sequence[Any] = await raw.driver_connection.fetch(sql, *arguments)
        return rows

    async def execute(self, raw: Any, sql: str, arguments: Sequence[Any]) -> int:
        status: str = await raw.driver_connection.execute(sql, *arguments)
        return int(status.rsplit(" ", 1)[-1])

    async def control(self, raw: Any, statements: Sequence[str]) -> None:
        # The simple protocol takes several statements in one message: one round trip.
        await raw.driver_connection.execute("; ".join(statements))
