"""Rows for bulk writes: what a model's table accepts, its defaults, checks and grouping.

A `TablePlan` is computed once per model (`plan_for`) and assembled from one module per
job: the table's facts (`_bulk_table.py`), input rows to checked column values
(`_bulk_input.py`), rows grouped into statements (`_bulk_groups.py`) and the instances
handed back (`_bulk_instances.py`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from sqlalchemy.orm import Mapper
from sqlmodel import SQLModel

from ._bulk_groups import RowGroups
from ._bulk_input import ColumnChunk as ColumnChunk
from ._bulk_input import RowInput
from ._bulk_instances import InstanceBuilder
from .dialects import is_partial_index
from .errors import BulkInputError as BulkInputError

_IMMUTABLE = (int, float, str, bool, bytes, type(None), tuple, frozenset)


class TablePlan(RowInput, RowGroups, InstanceBuilder):
    """Everything bulk writes need to know about one model's table, and the row work
    they do with it, computed once per model (`plan_for`) and shared by every call.

    A bulk call takes each chunk of input rows through it in this order:

    1. rows to column values: `insert_rows` / `update_rows` (a dict per row, with the
       defaults the ORM would apply; unknown or missing fields refused), or
       `insert_columns` (uniform dicts straight to columns, no dict per row);
    2. grouping: `insert_groups` / `key_groups` split the rows into groups that write
       the same columns (one statement each), the last of in-batch duplicates winning;
    3. checking: `columns` checks each group's values column by column, one pydantic
       call per column (`adapters`), and names the row at fault (`BulkInputError`);
    4. for `returning=True`, `instances` / `instances_from` build the model instances
       from the checked values.

    The table's own facts (keys, defaults, unique keys, the version column) and the key
    questions of upserts (`conflict_target`, `upsert_sets`) are on `TableShape`; `cache`
    keeps what is derived per dialect (compiled statements, bind processors).
    """


@functools.cache
def plan_for(model: type[SQLModel]) -> TablePlan:
    """The TablePlan of `model`, made once (the mapper configured first)."""
    mapper: Mapper[Any] = sa.inspect(model)
    mapper.registry.configure()
    table = mapper.local_table
    assert isinstance(table, sa.Table)
    columns = {str(key): column for key, column in mapper.columns.items()}
    key_of: dict[Any, str] = {column: key for key, column in columns.items()}
    auto = table.autoincrement_column
    fields = _FieldRules(model, columns)
    column_defaults, omittable = _column_rules(columns, auto)
    return TablePlan(
        model=model,
        table=table,
        keys=tuple(columns),
        pk=tuple(key_of[column] for column in mapper.primary_key),
        autoincrement=key_of.get(auto) if auto is not None else None,
        required=frozenset(fields.required),
        defaults=fields.defaults,
        factories=tuple(fields.factories),
        column_defaults=column_defaults,
        omittable=omittable,
        unique_keys=_unique_keys(table, key_of),
        adapters=fields.adapters,
        columns_by_key=columns,
        version=key_of.get(mapper.version_id_col),
    )


class _FieldRules:
    """What the model's pydantic fields say of each column: its default (a value, or a
    factory called per row), whether a row must give it, and the check of its values."""

    def __init__(self, model: type[SQLModel], columns: dict[str, Any]) -> None:
        self.defaults: dict[str, Any] = {}
        self.factories: list[tuple[str, Callable[[], Any]]] = []
        self.required: set[str] = set()
        self.adapters: dict[str, TypeAdapter[list[Any]]] = {}
        for key in columns:
            info = model.model_fields.get(key)
            if info is None:  # a column with no field: None unless the database fills it
                self.defaults[key] = None
                continue
            self._default(key, info)
            self.adapters[key] = _column_adapter(info)

    def _default(self, key: str, info: FieldInfo) -> None:
        if info.default_factory is not None:
            self.factories.append((key, info.default_factory))  # type: ignore[arg-type]
        elif info.default is PydanticUndefined:
            self.required.add(key)
        elif isinstance(info.default, _IMMUTABLE):
            self.defaults[key] = info.default
        else:  # a mutable default is copied per row, as pydantic does
            self.factories.append((key, functools.partial(copy.deepcopy, info.default)))


def _column_adapter(info: FieldInfo) -> TypeAdapter[list[Any]]:
    """Checks a whole column of the field's values in one call: `list[FieldType]`, with
    the field's constraints (SQLModel's own metadata left out)."""
    metadata = [item for item in info.metadata if type(item).__module__ != "sqlmodel.main"]
    item = Annotated[(info.annotation, *metadata)] if metadata else info.annotation
    return TypeAdapter(list[item])  # type: ignore[valid-type]


def _column_rules(
    columns: dict[str, Any], auto: Any
) -> tuple[tuple[tuple[str, Callable[[], Any]], ...], tuple[str, ...]]:
    """The columns' SQLAlchemy-side defaults (each replaces a None, as the ORM does), and
    the columns left out of an INSERT when None (the database fills them in)."""
    column_defaults: list[tuple[str, Callable[[], Any]]] = []
    omittable: list[str] = []
    for key, column in columns.items():
        default = column.default
        if isinstance(default, sa.ColumnDefault) and default.is_scalar:
            column_defaults.append((key, functools.partial(lambda v: v, default.arg)))
        elif isinstance(default, sa.ColumnDefault) and default.is_callable:
            column_defaults.append((key, functools.partial(default.arg, None)))
        if column is auto or column.server_default is not None:
            omittable.append(key)
    return tuple(column_defaults), tuple(omittable)


def _unique_keys(table: sa.Table, key_of: dict[Any, str]) -> tuple[frozenset[str], ...]:
    found: list[frozenset[str]] = []
    for constraint in table.constraints:
        if isinstance(constraint, (sa.UniqueConstraint, sa.PrimaryKeyConstraint)):
            found.append(frozenset(key_of[c] for c in constraint.columns if c in key_of))
    for index in table.indexes:
        if index.unique and not is_partial_index(index):
            found.append(frozenset(key_of[c] for c in index.columns if c in key_of))
    found.extend(frozenset([key_of[c]]) for c in table.columns if c.unique and c in key_of)
    return tuple(dict.fromkeys(k for k in found if k))
