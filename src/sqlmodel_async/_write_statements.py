"""Single-row statements by key: built once per (model, column set) and compiled once per
dialect. A `Repository.update` by key is one `UPDATE ... WHERE key [AND version]
RETURNING`; the statement text depends only on the model and the columns set, so it is
built once here and SQLAlchemy (or the driver, _channel.py) compiles and prepares it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper

#: Bind names: values set are `v_<attribute>`, key columns `k_<attribute>`.
EXPECTED_VERSION = "expected_version"


def value_bind(name: str) -> str:
    return f"v_{name}"


def key_bind(name: str) -> str:
    return f"k_{name}"


def key_parameters(meta: ModelColumns, key: tuple[Any, ...]) -> dict[str, Any]:
    """The bind values of a statement by key (`_key_clauses`)."""
    return {key_bind(name): value for name, value in zip(meta.key_names, key, strict=True)}


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
    # Configured now: instances are made here without the model's __init__, which is
    # what configures the mappers otherwise.
    mapper.registry.configure()
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
