"""Statements compiled once for the driver itself, for the paths that send them around
SQLAlchemy's execution (the direct reads of `_asyncpg_reads.py`, single-row writes).

`driver_statement(statement, dialect, columns=...)` compiles a Core statement to the
driver's SQL and the order of its parameters, once per statement and dialect, or says
None when the statement needs SQLAlchemy's path: its SQL or values are made per call
(expanding IN, literal LIMIT, Python-side column defaults), or its result columns need
SQLAlchemy to convert values (a TypeDecorator that converts, JSON, Enum, Numeric...) and
the caller does not convert them (`type_codes=None`). A caller that passes the backend's
`result_type_codes` gets SQLAlchemy's conversion of each such column with the statement
and applies it with `DriverStatement.rows()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine

#: (SQLAlchemy type, the driver's type code of a result column of that type): see
#: `Backend.result_type_codes`.
TypeCodes = tuple[tuple[type[Any], int], ...]

#: Column types whose values the driver hands back exactly as SQLAlchemy would (no
#: result processing). Anything else keeps SQLAlchemy's execution path.
_PLAIN_TYPES = (sa.Integer, sa.String, sa.Boolean, sa.Date, sa.DateTime, sa.Time, sa.Uuid)


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled for the driver: its SQL, its binds in order, the values bound
    in the statement itself (the 1 of `version + 1`) and the binds whose values
    SQLAlchemy converts first."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]
    #: SQLAlchemy's conversion of each returned column's value, where any has one.
    results: tuple[Callable[[Any], Any] | None, ...] | None = None

    def rows(self, found: Sequence[Any]) -> Sequence[Sequence[Any]]:
        """The driver's rows with SQLAlchemy's conversions applied."""
        results = self.results
        if results is None:
            return found
        return [
            tuple(
                value if convert is None or value is None else convert(value)
                for convert, value in zip(results, row, strict=True)
            )
            for row in found
        ]

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        """The driver's positional arguments for these parameters (bind name: value)."""
        values = {**self.defaults, **parameters}
        return [
            process(values[name]) if (process := self.processors.get(name)) else values[name]
            for name in self.names
        ]


#: Compiled once per statement (and dialect); None: SQLAlchemy's path is needed.
_compiled: WeakKeyDictionary[Any, dict[Dialect, DriverStatement | None]] = WeakKeyDictionary()


def driver_statement(
    statement: Any,
    dialect: Dialect,
    *,
    columns: Iterable[Any],
    type_codes: TypeCodes | None = None,
) -> DriverStatement | None:
    """`statement` compiled for `dialect`'s driver, cached on the statement object (keep
    the statement to keep the compilation), or None when SQLAlchemy's path is needed.

    `columns`: the columns of the rows it returns (a SELECT's `selected_columns`, the
    RETURNING columns; none for a write that returns nothing); their types decide
    whether the driver's values need converting."""
    per_dialect = _compiled.get(statement)
    if per_dialect is None:
        per_dialect = _compiled[statement] = {}
    if dialect not in per_dialect:
        per_dialect[dialect] = compile_for_driver(
            statement, dialect, columns=columns, type_codes=type_codes
        )
    return per_dialect[dialect]


def compile_for_driver(
    statement: Any,
    dialect: Dialect,
    *,
    columns: Iterable[Any],
    type_codes: TypeCodes | None = None,
) -> DriverStatement | None:
    """`driver_statement` without the cache."""
    results: list[Any] = []
    for column in columns:
        if plain_type(column.type, dialect):
            results.append(None)
            continue
        processor = _UNKNOWN if type_codes is None else _result_processor(
            column.type, dialect, type_codes
        )
        if processor is _UNKNOWN:
            return None
        results.append(processor)
    compiled: Any = statement.compile(dialect=dialect)
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
    return DriverStatement(
        compiled.string, names, dict(compiled.params), processors,
        tuple(results) if any(results) else None,
    )


def _result_processor(column_type: Any, dialect: Dialect, type_codes: TypeCodes) -> Any:
    """SQLAlchemy's conversion of the driver's values for a column type (None: none), or
    `_UNKNOWN` when it cannot be known without the result's own type codes."""
    base = column_type
    while isinstance(base, sa.TypeDecorator):
        base = base.impl_instance
    code = next((code for kind, code in type_codes if isinstance(base, kind)), None)
    try:
        processor = column_type.dialect_impl(dialect).result_processor(dialect, code)
    except Exception:  # a processor that needs the type code we could not name
        return _UNKNOWN
    return processor


_UNKNOWN: Any = object()


def nothing_listens(engine: Engine) -> bool:
    """Whether a statement may bypass the engine's execution: nothing listens to its
    cursor executes (echo, a query counter, tracing), which must keep seeing every
    statement."""
    return not (
        engine.echo
        or engine.dispatch.before_cursor_execute
        or engine.dispatch.after_cursor_execute
    )


def plain_type(column_type: Any, dialect: Dialect) -> bool:
    """Whether the driver's values for this column type are SQLAlchemy's values too."""
    while isinstance(column_type, sa.TypeDecorator):
        if type(column_type).process_result_value is not sa.TypeDecorator.process_result_value:
            return False  # the decorator converts what it reads
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.Float):
        return not column_type.asdecimal  # the drivers read float columns as float
    # Enum is a String to SQLAlchemy, but its values become enum members.
    if not isinstance(column_type, _PLAIN_TYPES) or isinstance(column_type, sa.Enum):
        return False
    implementation = column_type.dialect_impl(dialect)
    return implementation.result_processor(dialect, None) is None


class DriverCalls(ABC):
    """How a backend sends a statement by key to its driver itself (`Backend.driver_calls`,
    used by _channel.py). `raw` is the pooled connection: `.driver_connection` is the
    driver's own, `.dbapi_connection` SQLAlchemy's adapter. The defaults suit drivers
    whose server begins a transaction at its first statement (or whose BEGIN SQLAlchemy
    already sent); each backend module defines `fetch` and `execute`."""

    #: Whether bulk statements compiled for the driver may go to it too: only where
    #: their callers read their rows (RETURNING), never a row count.
    bulk_rows = False

    async def begin(self, raw: Any) -> None:
        """Begin the transaction on the database if the driver has not yet (by default
        the server or SQLAlchemy's begin hook does: nothing to send)."""
        return None

    def reads_before_begin(self, raw: Any, dialect: Dialect) -> bool:
        """Whether a plain read may be sent before the transaction begins."""
        return False

    @abstractmethod
    async def fetch(self, raw: Any, sql: str, arguments: Sequence[Any]) -> Sequence[Any]:
        """The rows of one statement."""

    @abstractmethod
    async def execute(self, raw: Any, sql: str, arguments: Sequence[Any]) -> int:
        """Run one statement; the number of rows it wrote (or matched)."""

    async def control(self, raw: Any, statements: Sequence[str]) -> None:
        """Transaction-control statements (SAVEPOINT ...), in order."""
        for sql in statements:
            await self.execute(raw, sql, ())
