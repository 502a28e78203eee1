"""Per-backend facts in one place.

Everything that differs between SQLite, PostgreSQL and MariaDB/MySQL is a field of the
`Backend` here, so the rest of the library asks a `Backend` instead of branching on the
dialect name. Each backend's longer mechanics (reading its errors, SQLite's connection
set-up) are in its own module: `_postgresql.py`, `_mysql.py`, `_sqlite.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url

from . import _mysql, _postgresql, _sqlite
from ._error_info import ErrorInfo as ErrorInfo
from ._sqlite import BEGIN_OPTION

#: A timestamp column with its microseconds on every backend: MariaDB/MySQL's plain
#: DATETIME drops them, DATETIME(6) keeps them.
MICROSECOND_TIMESTAMP = sa.DateTime(timezone=True).with_variant(
    mysql.DATETIME(fsp=6), "mysql", "mariadb"
)

#: Where a Database puts its Backend in each session's `info` (Repository reads it there).
BACKEND_INFO_KEY = "sqlmodel_async.backend"

#: Pool options that only make sense for a queue pool (not for SQLite's in-memory static pool).
QUEUE_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout")


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
    #: Seconds a write transaction waits for the database's one writer lock (SQLite's
    #: busy timeout), where the database takes one writer at a time: the Database then
    #: queues its own write transactions itself (_writer_lock.py). None: many writers.
    writer_wait: float | None = None
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
    # --- bulk writes: statements and driver calls of one backend (bulk_sql.py, _bulk_copy.py)
    #: The INSERT construct that carries the backend's upsert clause (`upsert`): the
    #: dialect's own `insert()`, which has `on_conflict_do_update` or
    #: `on_duplicate_key_update`.
    upsert_insert: Callable[[sa.Table], Any] = field(default=sa.insert, repr=False)
    #: `(quoted table, column name) -> SELECT` of the sequence behind an auto-increment
    #: column, where the backend has sequences a client may take keys from (PostgreSQL),
    #: else None.
    sequence_of: Callable[[str, str], Any] | None = field(default=None, repr=False)
    #: `(sequence, n) -> SELECT` of one array of `n` keys taken from the sequence, in one
    #: round trip, where `sequence_of` is given.
    take_keys: Callable[[str, int], Any] | None = field(default=None, repr=False)
    #: Whether an exception was raised by the driver itself: a call made on the driver's
    #: connection (COPY) bypasses SQLAlchemy, whose error wrapping it then needs.
    raised_by_driver: Callable[[BaseException], bool] = field(
        default=lambda _: False, repr=False
    )
    # --- end of the bulk-write fields
    #: `(dialect, length) ->` the column type of text that compares exactly (binary, NO
    #: PAD: trailing spaces count) where the default string type does not (MariaDB/MySQL),
    #: else None: `types.ExactText` uses it.
    exact_text: Callable[[Any, int | None], Any] = field(
        default=lambda _dialect, _length: None, repr=False
    )
    #: Table options `Database.create_all` gives every table that does not set them
    #: itself: MariaDB/MySQL tables in utf8mb4 whatever the database's default (utf8mb3
    #: holds no emoji: an insert of one is refused).
    table_options: dict[str, str] = field(default_factory=dict)
    #: How statements by key (Repository.create/update/delete/get) are sent to the driver
    #: itself, around SQLAlchemy's execution (when the engine's driver is `driver` and
    #: nothing listens to cursor executes): `begin`, `reads_before_begin`, `fetch`,
    #: `execute`, `control` (see _postgresql.AsyncpgCalls). None: SQLAlchemy's path.
    driver_calls: Any = field(default=None, repr=False)
    #: Whether INSERT ... RETURNING / UPDATE ... RETURNING may be used for single-row
    #: writes, where the connected server has it too (SQLAlchemy's dialect reads the server
    #: version: MariaDB has INSERT RETURNING from 10.5, MySQL has none). Without it the row
    #: is read back by key after the write (the next best thing: no read before it).
    insert_returning: bool = True
    update_returning: bool = True
    #: Whether a single-row write runs after a savepoint when its transaction already did
    #: work: a refused statement would take that work with it (PostgreSQL aborts the whole
    #: transaction on any error). False where a refused statement undoes only itself
    #: (SQLite, InnoDB).
    write_savepoint: bool = False
    #: The driver's type code of a result column of these SQLAlchemy types, for the
    #: conversions that depend on it (PostgreSQL's numeric and float OIDs), so a
    #: statement sent to the driver itself converts its rows as SQLAlchemy would.
    result_type_codes: tuple[tuple[type[Any], int], ...] = ()
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

    def drives(self, dialect: Any) -> bool:
        """Whether a SQLAlchemy dialect talks through this backend's own driver (the one
        the driver-level paths are written for)."""
        return bool(dialect.driver == self.driver)

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


def is_partial_index(index: sa.Index) -> bool:
    """Whether a unique index covers only some rows (PostgreSQL's `postgresql_where`):
    it is no conflict target for an upsert that does not repeat its condition."""
    return bool(index.dialect_kwargs.get("postgresql_where"))


# --- the backends ---------------------------------------------------------------------------

SQLITE = Backend(
    name="sqlite",
    driver="aiosqlite",
    max_params=32766,  # SQLite >= 3.32 default; Database reads the linked library's
    read_only_begin="PRAGMA query_only = ON",
    read_only_end="PRAGMA query_only = OFF",
    classify=_sqlite.classify,
    configure_engine=_sqlite.configure_engine,
    is_memory=_sqlite.is_memory,
    memory_connect_args={"check_same_thread": False},
    runtime_max_params=_sqlite.max_params,
    embedded=True,
    writer_wait=_sqlite.BUSY_TIMEOUT_MS / 1000,
    error_modules=("sqlite",),
    foreign_key_switch=ForeignKeySwitch(
        off="PRAGMA foreign_keys = OFF",
        on="PRAGMA foreign_keys = ON",
        check="PRAGMA foreign_key_check",
    ),
    write_begin="BEGIN IMMEDIATE",
    keyset_row_values=True,
    driver_calls=_sqlite.AiosqliteCalls(),
    # bulk writes
    upsert_insert=sqlite.insert,
)
POSTGRESQL = Backend(
    name="postgresql",
    driver="asyncpg",
    max_params=32767,  # asyncpg's limit for one statement
    read_only_begin="SET TRANSACTION READ ONLY",
    read_only_end=None,
    classify=_postgresql.classify,
    error_modules=("asyncpg", "psycopg"),
    is_disconnect=_postgresql.is_disconnect,
    has_array_any=True,
    direct_reads=True,
    keyset_row_values=True,
    nulls_sort_high=True,
    timestamps_keep_zone=True,
    bulk_arrays=True,
    bulk_copy=True,
    driver_calls=_postgresql.AsyncpgCalls(),
    write_savepoint=True,
    result_type_codes=((sa.Float, 701), (sa.Numeric, 1700)),
    bulk_lock_order=True,
    # bulk writes
    upsert_insert=postgresql.insert,
    sequence_of=_postgresql.sequence_of,
    take_keys=_postgresql.take_keys,
    raised_by_driver=_postgresql.raised_by_driver,
)
MYSQL = Backend(
    name="mysql",
    driver="asyncmy",
    max_params=65535,
    # The first statement of the transaction: the DBAPI begins implicitly, so this one
    # opens the transaction read-only and the scope's rollback ends it.
    read_only_begin="START TRANSACTION READ ONLY",
    read_only_end=None,
    classify=_mysql.classify,
    error_modules=("mysql", "asyncmy"),
    update_from="union_join",
    upsert="on_duplicate_key",
    exact_text=_mysql.exact_text,
    table_options={"mysql_default_charset": "utf8mb4"},
    update_returning=False,  # MariaDB has INSERT and DELETE RETURNING, not UPDATE's
    bulk_lock_order=True,
    driver_calls=_mysql.AsyncmyCalls(),
    # bulk writes
    upsert_insert=mysql.insert,
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
