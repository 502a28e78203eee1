"""WHERE and ORDER BY clauses from what read calls take: `name=value` equalities and an
optional `order_by` (None: the primary key, so pages and listings are stable; `()`: no
ORDER BY at all). Shared by `Repository` (a session) and `Projected` (a session or a
`Reader`).

The read methods take their filters positionally and first, everything else by keyword;
`check_filters()` makes a value that is not a filter (`stream(Hero.age > 3, 500)`, the
old positional `paginate(2, 10)`) a TypeError that names the keyword it was meant for,
instead of a WHERE clause SQLAlchemy would reject later with a less helpful message, or
accept (a bare `True`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper
from sqlalchemy.sql.elements import ClauseElement


def equals_clauses(model: type[Any], equals: Mapping[str, Any]) -> list[Any]:
    """`column == value` for each `name=value` (`IS NULL` for None); a name that is not a
    column of `model` is a TypeError."""
    if not equals:
        return []
    mapper: Mapper[Any] = sa.inspect(model)
    clauses = []
    for name, value in equals.items():
        if name not in mapper.columns:
            raise TypeError(f"{model.__name__} has no column {name!r}")
        column = getattr(model, name)
        clauses.append(column.is_(None) if value is None else column == value)
    return clauses


def ordering(model: type[Any], order_by: Sequence[Any] | None) -> list[Any]:
    """`order_by`; the primary key when it is None; nothing when it is empty (`()`: the
    caller needs no stable order and the database may return rows as it finds them)."""
    if order_by is None:
        mapper: Mapper[Any] = sa.inspect(model)
        return [getattr(model, str(column.key)) for column in mapper.primary_key]
    check_order_by(order_by)
    return list(order_by)


def is_filter(value: Any) -> bool:
    """Whether `value` can be a WHERE condition: a SQL expression (or a bool, as
    SQLModel's `select().where()` takes)."""
    return (
        isinstance(value, ClauseElement | bool)
        or hasattr(value, "__clause_element__")
    )


def check_filters(method: str, filters: Sequence[Any], keywords: str) -> None:
    """TypeError for a positional argument of `method` that is not a filter: it was
    meant for one of `keywords` (which the method takes by keyword only)."""
    for position, value in enumerate(filters, start=1):
        if not is_filter(value):
            raise TypeError(
                f"{method}() takes filters positionally (SQL conditions such as "
                f"Hero.age > 30) and {keywords} by keyword only; positional argument "
                f"{position} is {value!r}: pass it by name"
            )


def check_option(method: str, name: str, value: Any) -> None:
    """TypeError when a number option (`page`, `size`, `limit`, `batch_size`...) got a
    filter, a condition meant for `*filters`."""
    if not isinstance(value, int) and is_filter(value):
        raise TypeError(
            f"{method}() got a SQL expression for {name}=: filters go first, positionally "
            f"({method}(Hero.age > 30, {name}=...))"
        )


def check_order_by(order_by: Any) -> None:
    """TypeError unless `order_by` is a list (or tuple) of ORDER BY items."""
    if isinstance(order_by, str) or not isinstance(order_by, Sequence):
        raise TypeError(
            f"order_by= takes a list of columns (order_by=[Hero.name]), got {order_by!r}"
        )
