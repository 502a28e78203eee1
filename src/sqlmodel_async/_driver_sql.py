"""Statements compiled once for the driver itself, for the paths that send them around
SQLAlchemy's execution (the direct reads of `_asyncpg_reads.py`, single-row writes).

`driver_statement(statement, dialect, columns=...)` compiles a Core statement to the
driver's SQL and the order of its parameters, once per statement and dialect, or says
None when the statement needs SQLAlchemy's path: its result columns need SQLAlchemy to
convert values (a TypeDecorator that converts, JSON, Enum, Numeric...), or its SQL or
values are made per call (expanding IN, literal LIMIT, Python-side column defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

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
    statement: Any, dialect: Dialect, *, columns: Iterable[Any]
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
        per_dialect[dialect] = compile_for_driver(statement, dialect, columns=columns)
    return per_dialect[dialect]


def compile_for_driver(
    statement: Any, dialect: Dialect, *, columns: Iterable[Any]
) -> DriverStatement | None:
    """`driver_statement` without the cache."""
    if not all(plain_type(column.type, dialect) for column in columns):
        return None
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
    return DriverStatement(compiled.string, names, dict(compiled.params), processors)


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
