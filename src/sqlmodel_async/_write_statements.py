"""Single-row write statements: built once per (model, column set), compiled once per
dialect, and sent on the session's own connection.

A `Repository.update` by key is one `UPDATE ... WHERE key [AND version] RETURNING`; the
statement text depends only on the model and the columns set, so it is built once here
and SQLAlchemy (or asyncpg, below) compiles and prepares it once.

On PostgreSQL with asyncpg the statement goes to the driver itself when nothing listens
to the engine's cursor executes (echo, a query counter, tracing): SQLAlchemy's execution
context, cache-key and result objects are most of what a one-row write costs in Python
(as in reader.py). Statements whose values SQLAlchemy must convert (a TypeDecorator that
converts results, JSON, Enum, Numeric...) or compute (a Python-side column default) keep
SQLAlchemy's path, as do the other backends.

Private SQLAlchemy API used here (pinned by tests/test_single_writes.py): the asyncpg
adapter's `_transaction` / `_start_transaction()` (the adapter begins the transaction
lazily, before its first statement; a statement sent around it must begin it the same
way) and `_handle_exception()` (its mapping of driver errors onto DB-API errors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapper
from sqlmodel.ext.asyncio.session import AsyncSession

from .dialects import Backend
from .reader import _plain

#: Bind names: values set are `v_<attribute>`, key columns `k_<attribute>`.
EXPECTED_VERSION = "expected_version"


def value_bind(name: str) -> str:
    return f"v_{name}"


def key_bind(name: str) -> str:
    return f"k_{name}"


@dataclass(frozen=True, eq=False)
class ModelColumns:
    """The mapped columns of one model's table, by attribute name."""

    mapper: Mapper[Any]
    table: sa.Table
    #: Attribute name and column of every column of the table, in table order.
    names: tuple[str, ...]
    columns: tuple[sa.Column[Any], ...]
    key_names: tuple[str, ...]
    key_columns: tuple[sa.Column[Any], ...]
    #: The version column's attribute (`__mapper_args__["version_id_col"]`), or None.
    version_name: str | None
    #: Whether a write bumps the version (`version + 1`); False where the database does
    #: (`version_id_generator=False`).
    version_bumped: bool

    #: Positions of float columns: SQLite's RETURNING hands back a whole REAL as an int
    #: (105 for 105.0: the value before the column's affinity applies).
    floats: tuple[int, ...] = ()

    def column(self, name: str) -> sa.Column[Any]:
        return self.columns[self.names.index(name)]

    def values(self, row: Sequence[Any]) -> list[Any]:
        """A returned row's values as the model holds them."""
        values = list(row)
        for position in self.floats:
            if type(values[position]) is int:
                values[position] = float(values[position])
        return values


@cache
def model_columns(mapper: Mapper[Any]) -> ModelColumns:
    table: Any = mapper.local_table
    names: list[str] = []
    columns: list[sa.Column[Any]] = []
    for column in table.columns:
        try:
            names.append(mapper.get_property_by_column(column).key)
        except sa.orm.exc.UnmappedColumnError:
            continue
        columns.append(column)
    key_columns = tuple(mapper.primary_key)
    version = mapper.version_id_col
    return ModelColumns(
        mapper=mapper,
        table=table,
        names=tuple(names),
        columns=tuple(columns),
        key_names=tuple(mapper.get_property_by_column(c).key for c in key_columns),
        key_columns=key_columns,  # type: ignore[arg-type]
        version_name=None if version is None else mapper.get_property_by_column(version).key,
        version_bumped=version is not None and mapper.version_id_generator is not False,
        floats=tuple(
            position for position, column in enumerate(columns)
            if isinstance(column.type, sa.Float) and not column.type.asdecimal
        ),
    )


@dataclass(frozen=True, eq=False)
class WriteStatement:
    """A Core statement with named binds, and the attributes its rows carry, in order."""

    statement: Any
    returning: tuple[str, ...] = ()
    #: The columns of its rows (whose types decide whether the driver may send it).
    columns: tuple[Any, ...] = ()
    #: Compiled for the driver, per dialect (None: SQLAlchemy's path is needed).
    driver: dict[Dialect, DriverStatement | None] = field(default_factory=dict)


def _key_clauses(meta: ModelColumns) -> list[Any]:
    return [
        column == sa.bindparam(key_bind(name), type_=column.type)
        for name, column in zip(meta.key_names, meta.key_columns, strict=True)
    ]


@lru_cache(maxsize=4096)
def insert_statement(meta: ModelColumns, names: tuple[str, ...], returning: bool) -> WriteStatement:
    values = {
        meta.column(name): sa.bindparam(value_bind(name), type_=meta.column(name).type)
        for name in names
    }
    statement: Any = sa.insert(meta.table).values(values)
    if returning:
        return WriteStatement(statement.returning(*meta.columns), meta.names, meta.columns)
    return WriteStatement(statement)


@lru_cache(maxsize=4096)
def update_statement(
    meta: ModelColumns, names: tuple[str, ...], check_version: bool, returning: bool
) -> WriteStatement:
    values: dict[Any, Any] = {
        meta.column(name): sa.bindparam(value_bind(name), type_=meta.column(name).type)
        for name in names
    }
    where = _key_clauses(meta)
    if meta.version_name is not None:
        version = meta.column(meta.version_name)
        if check_version:
            where.append(version == sa.bindparam(EXPECTED_VERSION, type_=version.type))
        if meta.version_bumped and version not in values:
            values[version] = version + 1
    statement: Any = sa.update(meta.table).where(*where).values(values)
    if returning:
        return WriteStatement(statement.returning(*meta.columns), meta.names, meta.columns)
    return WriteStatement(statement)


@lru_cache(maxsize=1024)
def delete_statement(meta: ModelColumns, check_version: bool) -> WriteStatement:
    where = _key_clauses(meta)
    if check_version and meta.version_name is not None:
        version = meta.column(meta.version_name)
        where.append(version == sa.bindparam(EXPECTED_VERSION, type_=version.type))
    return WriteStatement(sa.delete(meta.table).where(*where))


@lru_cache(maxsize=1024)
def select_statement(meta: ModelColumns, locked: bool) -> WriteStatement:
    """The row by key: read back where RETURNING is missing, or (locked, so InnoDB's
    REPEATABLE READ gives the latest row, not its snapshot) to explain a write that
    matched no row."""
    statement = sa.select(*meta.columns).where(*_key_clauses(meta))
    if locked:
        statement = statement.with_for_update()
    return WriteStatement(statement, meta.names, meta.columns)


# --- sending -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled for the driver: its SQL, its binds in order, and the binds
    whose values SQLAlchemy converts first."""

    sql: str
    names: tuple[str, ...]
    #: Values bound in the statement itself (the 1 of `version + 1`).
    defaults: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]


def _driver_statement(written: WriteStatement, dialect: Dialect) -> DriverStatement | None:
    if dialect not in written.driver:
        written.driver[dialect] = _compile(written, dialect)
    return written.driver[dialect]


def _compile(written: WriteStatement, dialect: Dialect) -> DriverStatement | None:
    if not all(_plain(column.type, dialect) for column in written.columns):
        return None
    compiled: Any = written.statement.compile(dialect=dialect)
    if (
        compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
        or getattr(compiled, "insert_prefetch", None)
        or getattr(compiled, "update_prefetch", None)
    ):
        return None  # rendered or computed per call: SQLAlchemy's job
    names = tuple(compiled.positiontup or ())
    processors = {}
    for name in names:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return DriverStatement(compiled.string, names, dict(compiled.params), processors)


class Channel:
    """The session's connection, for the statements of one write."""

    def __init__(
        self, connection: AsyncConnection, raw: Any | None, backend: Backend
    ) -> None:
        self.connection = connection
        self.backend = backend
        #: The pooled connection when statements go to the driver itself, else None.
        self._raw = raw

    @classmethod
    async def open(cls, session: AsyncSession, backend: Backend) -> Channel:
        connection = await session.connection()
        engine = connection.sync_engine
        direct = (
            backend.direct_writes
            and engine.dialect.driver == backend.driver
            and not engine.echo
            and not engine.dispatch.before_cursor_execute
            and not engine.dispatch.after_cursor_execute
        )
        if not direct:
            return cls(connection, None, backend)
        try:  # no I/O while the connection is valid
            raw: Any = connection.sync_connection.connection  # type: ignore[union-attr]
        except sa_exc.MissingGreenlet:
            raw = await connection.get_raw_connection()
        return cls(connection, raw, backend)

    @property
    def dialect(self) -> Dialect:
        return self.connection.dialect

    async def rows(
        self, written: WriteStatement, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The rows the statement returns (RETURNING, or a SELECT)."""
        prepared = self._prepared(written)
        if prepared is None:
            result = await self.connection.execute(written.statement, dict(parameters))
            return result.all()
        arguments = self._arguments(prepared, parameters)
        await self._begin()
        try:
            rows: Sequence[Any] = await self._raw.driver_connection.fetch(  # type: ignore[union-attr]
                prepared.sql, *arguments
            )
        except Exception as error:
            raise await self._driver_error(error, prepared.sql, arguments) from error
        return rows

    async def count(self, written: WriteStatement, parameters: Mapping[str, Any]) -> int:
        """The number of rows the statement wrote (or matched)."""
        prepared = self._prepared(written)
        if prepared is None:
            result: Any = await self.connection.execute(written.statement, dict(parameters))
            return int(result.rowcount)
        arguments = self._arguments(prepared, parameters)
        await self._begin()
        try:
            status: str = await self._raw.driver_connection.execute(  # type: ignore[union-attr]
                prepared.sql, *arguments
            )
        except Exception as error:
            raise await self._driver_error(error, prepared.sql, arguments) from error
        return int(status.rsplit(" ", 1)[-1])

    async def inserted_key(
        self, written: WriteStatement, parameters: Mapping[str, Any]
    ) -> tuple[Any, ...]:
        """Insert without RETURNING; the new row's primary key (lastrowid where the
        database made it)."""
        result = await self.connection.execute(written.statement, dict(parameters))
        return tuple(result.inserted_primary_key or ())

    async def execute(self, statement: Any) -> Any:
        """A statement built per call (set-based writes): SQLAlchemy's path."""
        return await self.connection.execute(statement)

    async def control(self, *statements: str) -> None:
        """Transaction-control statements (SAVEPOINT ...). The driver sends them in the
        simple protocol, several in one message: nothing to prepare, one round trip."""
        if self._raw is None:
            for sql in statements:
                await self.connection.exec_driver_sql(sql)
            return
        sql = "; ".join(statements)
        await self._begin()
        try:
            await self._raw.driver_connection.execute(sql)
        except Exception as error:
            raise await self._driver_error(error, sql, []) from error

    def _prepared(self, written: WriteStatement) -> DriverStatement | None:
        if self._raw is None:
            return None
        return _driver_statement(written, self.dialect)

    @staticmethod
    def _arguments(prepared: DriverStatement, parameters: Mapping[str, Any]) -> list[Any]:
        values = {**prepared.defaults, **parameters}
        return [
            process(values[name]) if (process := prepared.processors.get(name)) else values[name]
            for name in prepared.names
        ]

    async def _begin(self) -> None:
        # The adapter begins the transaction before its first statement; do the same.
        adapter = self._raw.dbapi_connection  # type: ignore[union-attr]
        if adapter._transaction is None and not adapter.autocommit:
            try:
                await adapter._start_transaction()
            except self.dialect.loaded_dbapi.Error as error:
                raise sa_exc.DBAPIError.instance(
                    "BEGIN", [], error, self.dialect.loaded_dbapi.Error, dialect=self.dialect
                ) from error

    async def _driver_error(
        self, error: Exception, sql: str, arguments: list[Any]
    ) -> BaseException:
        """`error` from the driver as SQLAlchemy's path would raise it (a DBAPIError); a
        lost connection is invalidated."""
        dialect = self.dialect
        dbapi = dialect.loaded_dbapi
        raw: Any = self._raw
        try:
            raw.dbapi_connection._handle_exception(error)
        except dbapi.Error as adapted:
            disconnect = dialect.is_disconnect(
                adapted, raw.dbapi_connection, None
            ) or self.backend.is_disconnect(adapted)
            wrapped = sa_exc.DBAPIError.instance(
                sql, arguments, adapted, dbapi.Error,
                connection_invalidated=disconnect, dialect=dialect,
            )
            if disconnect:
                await self.connection.invalidate(wrapped)
            return wrapped
        except Exception as other:  # not a DB-API error: report it as it is
            return other
        return error
