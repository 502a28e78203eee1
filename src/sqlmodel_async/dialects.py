"""Per-backend facts in one place.

Everything that differs between SQLite, PostgreSQL and MariaDB/MySQL lives here, so the rest
of the library asks a `Backend` instead of branching on the dialect name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from . import _sqlite
from ._sqlite import BEGIN_OPTION

#: Where a Database puts its Backend in each session's `info` (Repository reads it there).
BACKEND_INFO_KEY = "sqlmodel_async.backend"

#: Pool options that only make sense for a queue pool (not for SQLite's in-memory static pool).
QUEUE_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout")


@dataclass(frozen=True)
class ErrorInfo:
    """What a driver error says, read off the exception the driver raised."""

    #: unique | foreign_key (no such parent row) | referenced (row still referenced)
    #: | not_null | check | read_only | transient | other
    kind: str
    constraint: str | None = None
    column: str | None = None


@dataclass(frozen=True)
class ForeignKeySwitch:
    """Statements that turn foreign-key enforcement off and on for one connection, and the
    query listing the rows whose reference names no row."""

    off: str
    on: str
    check: str


@dataclass(frozen=True)
class Backend:
    """How one database family is spoken to."""

    name: str  # sqlalchemy dialect name: sqlite, postgresql, mysql
    driver: str  # the async driver we install and pick for plain URLs
    #: Bound parameters one statement may carry (asyncpg: 32767; SQLite: read at run time).
    max_params: int
    #: Statement that makes the transaction read-only, run first in a read_only() scope.
    read_only_begin: str
    #: Statement that undoes connection-level read-only state (SQLite only), else None.
    read_only_end: str | None
    #: Reads the error kind, constraint and column out of a driver exception.
    classify: Callable[[BaseException], ErrorInfo] = field(repr=False)

    # --- engine set-up and where a database lives (database.py, replicas.py, errors.py) --
    #: Sets up the connections of a new (sync) engine for its URL: SQLite's pragmas and
    #: its BEGIN, which honours `write_options`.
    configure_engine: Callable[[Engine, URL], None] = field(
        default=lambda _engine, _url: None, repr=False
    )
    #: Whether a URL names a private in-memory database: it lives as long as its one
    #: connection, so every session shares that connection (a static pool).
    is_memory: Callable[[URL], bool] = field(default=lambda _url: False, repr=False)
    #: connect_args that let that one shared connection serve every task (SQLite: sqlite3
    #: refuses a connection used from another thread than its own by default).
    memory_connect_args: dict[str, Any] = field(default_factory=dict)
    #: The bound-parameter limit read at run time, where it depends on the library this
    #: process links (SQLite's build); None where `max_params` holds.
    runtime_max_params: Callable[[], int] | None = field(default=None, repr=False)
    #: Whether the database lives in the application's own process (a file, or memory)
    #: rather than on a server: it has no replicas, and the application migrates it itself.
    embedded: bool = False
    #: Parts of the module names of this backend's driver exceptions: `backend_of_error`
    #: tells an error's backend by them when it is translated without one.
    error_modules: tuple[str, ...] = ()
    #: Where a schema migration must run with foreign keys off (SQLite: altering a table
    #: rebuilds it, and dropping the old copy would fire its ON DELETE actions), the
    #: statements to switch them off and on and to find what the migration left dangling.
    foreign_key_switch: ForeignKeySwitch | None = None
    #: Whether `col = ANY(:array)` is available: one parameter for any number of keys.
    has_array_any: bool = False
    #: Whether `Reader` may run its kept statements on the driver itself (reader.py), when
    #: the engine's driver is `driver`.
    direct_reads: bool = False
    #: True for a driver error that leaves the connection unusable although the driver does
    #: not report it as a disconnect: the connection is then discarded, not pooled again.
    is_disconnect: Callable[[BaseException], bool] = field(default=lambda _: False, repr=False)
    #: Statement that begins a transaction meant to write, where the plain BEGIN would let
    #: it fail on lock upgrade (SQLite: BEGIN IMMEDIATE), else None.
    write_begin: str | None = None
    #: Whether the planner turns a row-value comparison `(a, b) > (:a, :b)` into an index
    #: range (keyset pagination); where it does not (MariaDB scans the whole index), the
    #: expanded `a >= :a AND (a > :a OR (a = :a AND b > :b))` form is used.
    keyset_row_values: bool = False
    #: Whether NULL sorts after every value in ascending order (PostgreSQL) rather than
    #: before (SQLite, MariaDB/MySQL): keyset clauses over nullable columns follow it.
    nulls_sort_high: bool = False
    #: Whether a timestamp column keeps its time zone (PostgreSQL `timestamptz`); the others
    #: store naive values, so UTCDateTime writes naive UTC there.
    timestamps_keep_zone: bool = False
    #: Bulk writes send one array per column (`unnest`): the statement does not grow
    #: with the rows, so no parameter limit applies.
    bulk_arrays: bool = False
    #: create_many(returning=False) may COPY through the driver (asyncpg).
    bulk_copy: bool = False
    #: How update_many joins the rows to the table where arrays are not available:
    #: "values" (`UPDATE ... FROM (VALUES ...) AS v`, SQLite) or "union_join"
    #: (`UPDATE t JOIN (SELECT ... UNION ALL SELECT ...) v`, MariaDB/MySQL).
    update_from: str = "values"
    #: upsert_many's clause: "on_conflict" (ON CONFLICT DO UPDATE) or "on_duplicate_key".
    upsert: str = "on_conflict"
    #: The collation under which text compares exactly (binary, NO PAD: trailing spaces
    #: count) for a SQLAlchemy dialect, where the default does not (MariaDB/MySQL), else
    #: None: `types.ExactText` uses it.
    exact_collation: Callable[[Any], str | None] = field(default=lambda _: None, repr=False)
    #: Table options `Database.create_all` gives every table that does not set them
    #: itself: MariaDB/MySQL tables in utf8mb4 whatever the database's default (utf8mb3
    #: holds no emoji: an insert of one is refused).
    table_options: dict[str, str] = field(default_factory=dict)
    #: Single-row writes (Repository.create/update/delete) may run on the driver itself,
    #: as `direct_reads` (when the engine's driver is `driver` and nothing listens to
    #: cursor executes).
    direct_writes: bool = False
    #: Whether INSERT ... RETURNING / UPDATE ... RETURNING may be used for single-row
    #: writes, where the connected server has it too (SQLAlchemy's dialect reads the server
    #: version: MariaDB has INSERT RETURNING from 10.5, MySQL has none). Without it the row
    #: is read back by key after the write (the next best thing: no read before it).
    insert_returning: bool = True
    update_returning: bool = True
    #: The savepoint a single-row write runs in when its transaction already did work and
    #: a refused statement would take that work with it (PostgreSQL aborts the whole
    #: transaction on any error). A fixed name, so the driver prepares it once. None where
    #: a refused statement undoes only itself (SQLite, InnoDB): no savepoint is needed.
    write_savepoint: str | None = None
    #: Whether bulk writes lock rows one by one as they go (PostgreSQL, InnoDB), so that
    #: update_many / upsert_many / delete_many send each chunk sorted by its key: calls
    #: writing the same keys in any order then take their locks in the same order.
    bulk_lock_order: bool = False

    @property
    def write_options(self) -> dict[str, Any]:
        """Execution options that make a connection's (or engine's) transactions begin
        with `write_begin` (SQLite: BEGIN IMMEDIATE, the write lock at once); empty where
        the plain BEGIN serves writes."""
        return {} if self.write_begin is None else {BEGIN_OPTION: self.write_begin}

    def membership(self, column: Any, values: Sequence[Any]) -> Iterator[Any]:
        """Yield WHERE clauses that together select `column IN values`.

        PostgreSQL binds the whole list as one array parameter; the others get `IN (...)`
        chunks small enough for the driver's parameter limit.
        """
        if not values:
            return
        if self.has_array_any:
            yield column == sa.any_(sa.bindparam(None, list(values), type_=sa.ARRAY(column.type)))
            return
        step = max(1, self.max_params - 10)
        for start in range(0, len(values), step):
            yield column.in_(values[start : start + step])


# --- error classification -------------------------------------------------------------------


def _driver_error(exc: BaseException) -> BaseException:
    """The innermost driver exception behind a SQLAlchemy/adapter wrapper."""
    orig = getattr(exc, "orig", None) or exc
    cause = orig.__cause__
    return cause if cause is not None else orig


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


def _postgresql_disconnect(exc: BaseException) -> bool:
    # asyncpg's InternalClientError ("cannot switch to state N; another operation is in
    # progress") means its protocol state is broken, as seen on pooled connections right
    # after their server backends were terminated: nothing more can run on it.
    return type(_driver_error(exc)).__name__ == "InternalClientError"


def _classify_postgresql(exc: BaseException) -> ErrorInfo:
    driver = _driver_error(exc)
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


def _classify_mysql(exc: BaseException) -> ErrorInfo:
    driver = _driver_error(exc)
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


def _classify_sqlite(exc: BaseException) -> ErrorInfo:
    driver = _driver_error(exc)
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


# --- the backends ---------------------------------------------------------------------------

SQLITE = Backend(
    name="sqlite",
    driver="aiosqlite",
    max_params=32766,  # SQLite >= 3.32 default; Database reads the linked library's
    read_only_begin="PRAGMA query_only = ON",
    read_only_end="PRAGMA query_only = OFF",
    classify=_classify_sqlite,
    configure_engine=_sqlite.configure_engine,
    is_memory=_sqlite.is_memory,
    memory_connect_args={"check_same_thread": False},
    runtime_max_params=_sqlite.max_params,
    embedded=True,
    error_modules=("sqlite",),
    foreign_key_switch=ForeignKeySwitch(
        off="PRAGMA foreign_keys = OFF",
        on="PRAGMA foreign_keys = ON",
        check="PRAGMA foreign_key_check",
    ),
    write_begin="BEGIN IMMEDIATE",
    keyset_row_values=True,
)
POSTGRESQL = Backend(
    name="postgresql",
    driver="asyncpg",
    max_params=32767,  # asyncpg's limit for one statement
    read_only_begin="SET TRANSACTION READ ONLY",
    read_only_end=None,
    classify=_classify_postgresql,
    error_modules=("asyncpg", "psycopg"),
    is_disconnect=_postgresql_disconnect,
    has_array_any=True,
    direct_reads=True,
    keyset_row_values=True,
    nulls_sort_high=True,
    timestamps_keep_zone=True,
    bulk_arrays=True,
    bulk_copy=True,
    direct_writes=True,
    write_savepoint="sqlmodel_async_write",
    bulk_lock_order=True,
)
MYSQL = Backend(
    name="mysql",
    driver="asyncmy",
    max_params=65535,
    # The first statement of the transaction: the DBAPI begins implicitly, so this one
    # opens the transaction read-only and the scope's rollback ends it.
    read_only_begin="START TRANSACTION READ ONLY",
    read_only_end=None,
    classify=_classify_mysql,
    error_modules=("mysql", "asyncmy"),
    update_from="union_join",
    upsert="on_duplicate_key",
    # MariaDB has no utf8mb4_0900_bin; MySQL 8 has no utf8mb4_nopad_bin.
    exact_collation=lambda dialect: (
        "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"
    ),
    table_options={"mysql_default_charset": "utf8mb4"},
    update_returning=False,  # MariaDB has INSERT and DELETE RETURNING, not UPDATE's
    bulk_lock_order=True,
)

_BY_NAME = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "mysql": MYSQL, "mariadb": MYSQL}
_SCHEME_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}


def known_backend(name: str) -> Backend | None:
    """The Backend for a SQLAlchemy dialect name, or None for a dialect we do not speak
    (the generic compiler of `str(statement)`, say)."""
    return _BY_NAME.get(name)


def backend_of_error(error: BaseException) -> Backend:
    """The backend a driver error came from, told by the module of the driver's exception
    (for an error translated without its Database's Backend); SQLite when none says."""
    module = type(getattr(error, "orig", error)).__module__
    for backend in (POSTGRESQL, MYSQL, SQLITE):
        if any(part in module for part in backend.error_modules):
            return backend
    return SQLITE


def backend_for(name: str) -> Backend:
    """The Backend for a SQLAlchemy dialect name."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unsupported database backend {name!r}: use sqlite, postgresql or mysql/mariadb"
        ) from None


def normalize_url(url: str | URL) -> URL:
    """Pick the async driver for a plain URL (`postgresql://` → asyncpg, and so on).

    A URL that already names a driver keeps it.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    scheme, _, driver = parsed.drivername.partition("+")
    scheme = _SCHEME_ALIASES.get(scheme, scheme)
    backend = backend_for(scheme)
    return parsed.set(drivername=f"{scheme}+{driver or backend.driver}")
