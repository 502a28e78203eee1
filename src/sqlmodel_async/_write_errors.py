"""Refused writes as the library's errors, with the column at fault where the database
does not name it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ._write_statements import ModelColumns
from .dialects import Backend
from .errors import DatabaseError, ForeignKeyError, translate


async def translated(
    session: AsyncSession,
    meta: ModelColumns,
    backend: Backend,
    error: sa_exc.DBAPIError,
    values: Mapping[str, Any],
    *,
    deleting: bool,
) -> BaseException:
    """`error` translated; the column named from the table's constraints, or (SQLite's
    foreign keys) found by asking which referenced row is missing."""
    found = translate(error, backend)
    if isinstance(found, DatabaseError) and found.column is None:
        found.column = constraint_columns(meta.table, found.constraint)
    if isinstance(found, ForeignKeyError):
        if deleting:
            # A delete can only be refused because the row is still referenced
            # (SQLite's NO ACTION does not say which way the reference failed).
            found.missing_reference = False
        elif found.column is None:
            # SQLite names neither the column nor which way the reference failed.
            found.column = await missing_reference(session, meta, values)
            found.missing_reference = found.column is not None
    return found


def constraint_columns(table: Any, name: str | None) -> str | None:
    """The column(s) of the table's constraint or index called `name`, if we know it."""
    if name is None:
        return None
    for item in [*getattr(table, "constraints", ()), *getattr(table, "indexes", ())]:
        if item.name == name:
            return ", ".join(column.key for column in item.columns)
    # MySQL names an unnamed single-column unique key after its column.
    return name if name in table.columns else None


async def missing_reference(
    session: AsyncSession, meta: ModelColumns, values: Mapping[str, Any]
) -> str | None:
    """Which foreign-key column points at a row that does not exist (SQLite does not
    say); asked only after a foreign-key refusal."""
    for name, column in zip(meta.names, meta.columns, strict=True):
        value = values.get(name)
        if value is None:
            continue
        for foreign_key in column.foreign_keys:
            target = foreign_key.column
            found = await session.exec(
                select(sa.literal(1)).select_from(target.table).where(target == value)
            )
            if found.first() is None:
                return name
    return None
