"""WHERE and ORDER BY clauses from what read calls take: `name=value` equalities and an
optional `order_by` (default: the primary key, so pages and listings are stable). Shared
by `Repository` (a session) and `Reader` (a pooled connection)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper


def equals_clauses(model: type[Any], equals: Mapping[str, Any]) -> list[Any]:
    """`column == value` for each `name=value` (`IS NULL` for None); a name that is not a
    column of `model` is a TypeError."""
    mapper: Mapper[Any] = sa.inspect(model)
    clauses = []
    for name, value in equals.items():
        if name not in mapper.columns:
            raise TypeError(f"{model.__name__} has no column {name!r}")
        column = getattr(model, name)
        clauses.append(column.is_(None) if value is None else column == value)
    return clauses


def ordering(model: type[Any], order_by: Sequence[Any] | None) -> list[Any]:
    """`order_by`, or the primary key when none is given."""
    if order_by:
        return list(order_by)
    mapper: Mapper[Any] = sa.inspect(model)
    return [getattr(model, str(column.key)) for column in mapper.primary_key]
