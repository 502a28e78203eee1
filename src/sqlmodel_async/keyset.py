"""Keyset ordering: the ORDER BY of a model's columns plus its primary key, and the WHERE
clause that selects the rows strictly after a given row in that order.

Used by cursor pagination (`paginate_cursor`) and by `stream()`: both resume after the last
row they returned instead of counting an OFFSET, so every page costs the same at any depth and
rows inserted or deleted meanwhile never make a row appear twice or vanish.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, QueryableAttribute
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from .dialects import Backend
from .query import check_order_by

#: An ORDER BY item such as `Hero.name` or `Hero.name.desc()`.
Order = Any


@dataclass(frozen=True)
class KeyColumn:
    """One column of the keyset order."""

    key: str  # the model attribute (and the row mapping key)
    column: sa.Column[Any]  # the table column
    descending: bool
    nullable: bool


class Keyset:
    """The keyset order of `model` by `order_by`, with the primary key appended as the
    tie-breaker so that the order is total (no two rows compare equal).

    The tie-breaker takes the direction of the last order column, so an index on
    (col, id) serves `col DESC` by a backward scan.

    NULLs: a nullable order column is allowed; NULLs sort where the backend puts them
    (PostgreSQL: after every value ascending; SQLite, MariaDB/MySQL: before), and the
    WHERE clause follows that. Explicit `.nulls_first()` / `.nulls_last()` are refused:
    MariaDB/MySQL cannot express them.
    """

    def __init__(self, model: type[Any], order_by: Sequence[Order] | None = None) -> None:
        mapper: Mapper[Any] = sa.inspect(model)
        self.model = model
        self.mapper = mapper
        if order_by is not None:
            check_order_by(order_by)
        columns = [self._key_column(item) for item in order_by or ()]
        named = {column.key for column in columns}
        descending = columns[-1].descending if columns else False
        pk: Any
        for pk in mapper.primary_key:
            key = mapper.get_property_by_column(pk).key
            if key not in named:
                columns.append(KeyColumn(key, pk, descending, nullable=False))
        self.columns: tuple[KeyColumn, ...] = tuple(columns)
        self.keys: tuple[str, ...] = tuple(column.key for column in columns)

    def _key_column(self, item: Order) -> KeyColumn:
        descending = False
        element: Any = item
        if isinstance(item, UnaryExpression):
            if item.modifier in (operators.nulls_first_op, operators.nulls_last_op):
                raise ValueError(
                    "keyset order_by does not take nulls_first()/nulls_last(): NULLs sort "
                    "where the backend puts them (MariaDB/MySQL cannot place them)"
                )
            if item.modifier not in (operators.desc_op, operators.asc_op):
                raise ValueError(f"unsupported order_by item {item!r}")
            descending = item.modifier is operators.desc_op
            element = item.element
        if isinstance(element, QueryableAttribute):
            element = element.expression
        table = self.mapper.local_table
        column = None
        if isinstance(element, sa.Column) and element.table is table:
            column = element
        elif isinstance(element, ColumnElement):
            # Annotated ORM columns (from `Hero.name.desc()`) proxy the table column.
            name = getattr(element, "name", None)
            source = getattr(element, "table", None)
            if source is table and name in table.c:
                column = table.c[name]
        if column is None:
            raise ValueError(
                f"keyset order_by takes columns of {self.model.__name__} "
                f"(e.g. {self.model.__name__}.id or .desc() of one), got {item!r}"
            )
        key = self.mapper.get_property_by_column(column).key
        return KeyColumn(key, column, descending, bool(column.nullable))

    # --- SQL ------------------------------------------------------------------------------

    def order_by(self) -> list[Any]:
        return [c.column.desc() if c.descending else c.column.asc() for c in self.columns]

    def after(self, values: Sequence[Any], backend: Backend) -> Any:
        """WHERE clause: the rows strictly after the row whose key values are `values`.

        One direction and no nullable column: a row-value comparison `(a, b) > (:a, :b)`
        where the backend's planner turns it into an index range (PostgreSQL, SQLite).
        Otherwise the expanded form `a >= :a AND (a > :a OR (a = :a AND b > :b))`: the
        leading bound gives MariaDB/MySQL (and mixed orders anywhere) an index range too.
        """
        if len(values) != len(self.columns):
            raise ValueError("keyset values do not match the order columns")
        directions = {c.descending for c in self.columns}
        if (
            backend.keyset_row_values
            and len(directions) == 1
            and not any(c.nullable for c in self.columns)
            and len(self.columns) > 1
        ):
            left = sa.tuple_(*(c.column for c in self.columns))
            right = sa.tuple_(
                *(
                    sa.literal(value, type_=c.column.type)
                    for c, value in zip(self.columns, values, strict=True)
                )
            )
            return left < right if self.columns[0].descending else left > right
        terms = []
        for index, (column, value) in enumerate(zip(self.columns, values, strict=True)):
            after = self._after(column, value, backend)
            if after is None:
                continue
            equal = [
                self._equal(c, v)
                for c, v in zip(self.columns[:index], values[:index], strict=True)
            ]
            terms.append(sa.and_(*equal, after) if equal else after)
        expanded = sa.or_(*terms) if terms else sa.false()
        lead = self._at_or_after(self.columns[0], values[0], backend)
        return expanded if lead is None or len(terms) <= 1 else sa.and_(lead, expanded)

    @staticmethod
    def _nulls_after(column: KeyColumn, backend: Backend) -> bool:
        return column.nullable and backend.nulls_sort_high != column.descending

    def _after(self, column: KeyColumn, value: Any, backend: Backend) -> Any | None:
        """Rows strictly after `value` in this column's order; None if there are none."""
        nulls_after = self._nulls_after(column, backend)
        if value is None:
            if nulls_after:
                return None
            return column.column.is_not(None) if column.nullable else None
        compare = column.column < value if column.descending else column.column > value
        return sa.or_(compare, column.column.is_(None)) if nulls_after else compare

    def _at_or_after(self, column: KeyColumn, value: Any, backend: Backend) -> Any | None:
        """Rows at or after `value` in this column's order; None if that is every row."""
        nulls_after = self._nulls_after(column, backend)
        if value is None:
            return column.column.is_(None) if nulls_after else None
        compare = column.column <= value if column.descending else column.column >= value
        return sa.or_(compare, column.column.is_(None)) if nulls_after else compare

    @staticmethod
    def _equal(column: KeyColumn, value: Any) -> Any:
        return column.column.is_(None) if value is None else column.column == value

    # --- values ---------------------------------------------------------------------------

    def values_of(self, instance: Any) -> list[Any]:
        """The key values of a model instance."""
        return [getattr(instance, key) for key in self.keys]

    def values_of_row(self, row: Mapping[str, Any]) -> list[Any]:
        """The key values of a row mapping keyed by attribute name."""
        return [row[key] for key in self.keys]

    @property
    def scope(self) -> str:
        """A short fingerprint of table and order: a cursor only fits the keyset it came
        from."""
        spec = ",".join(f"{c.key}:{'d' if c.descending else 'a'}" for c in self.columns)
        text = f"{self.mapper.local_table.fullname}|{spec}"  # type: ignore[attr-defined]
        return hashlib.sha256(text.encode()).hexdigest()[:16]
