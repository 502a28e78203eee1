"""What a model's table is to bulk writes: its columns, keys, defaults and checks, read
once off the mapper (`bulk_rows.plan_for`), and the questions about its keys that a bulk
call asks (which columns an upsert matches on and updates, which constraint a refusal
names).

The row work built on it (input rows to dicts, groups, instances) is in the `_bulk_*`
modules that `bulk_rows.TablePlan` assembles.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlmodel import SQLModel

from .errors import BulkInputError


@dataclass(eq=False)
class TableShape:
    """A model's table as bulk writes see it (the fields of `TablePlan`)."""

    model: type[SQLModel]
    table: sa.Table
    #: The mapped column attributes, in table order.
    keys: tuple[str, ...]
    pk: tuple[str, ...]
    #: The auto-increment primary key the database hands out, if the table has one.
    autoincrement: str | None
    #: Fields with no default: every inserted row must give them.
    required: frozenset[str]
    #: Immutable defaults (and None for columns the model has no field for).
    defaults: dict[str, Any]
    #: Defaults made per row: pydantic default factories, copies of mutable defaults.
    factories: tuple[tuple[str, Callable[[], Any]], ...]
    #: Columns whose Python-side SQLAlchemy default replaces a None (as the ORM does).
    column_defaults: tuple[tuple[str, Callable[[], Any]], ...]
    #: Columns where None means "let the database fill it in": left out of the INSERT.
    omittable: tuple[str, ...]
    #: The column sets of the primary key and of every unique constraint or index.
    unique_keys: tuple[frozenset[str], ...]
    #: One pydantic adapter per field, checking a whole column (`list[FieldType]`).
    adapters: dict[str, TypeAdapter[list[Any]]]
    columns_by_key: dict[str, sa.Column[Any]]
    #: What is derived once per model and kept: compiled statements, bind processors,
    #: row orders, the sequence behind the key (keyed by what they depend on).
    cache: dict[Hashable, Any] = field(default_factory=dict)
    #: The mapper's `version_id_col` (optimistic concurrency), if it has one: bulk updates
    #: bump it (`version = version + 1`) unless a row sets it, so ORM readers see a change.
    version: str | None = None

    key_set: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.key_set = frozenset(self.keys)

    @property
    def manager(self) -> Any:
        return sa.inspect(self.model).class_manager

    @property
    def single_pk(self) -> str:
        if len(self.pk) != 1:
            raise TypeError(f"{self.model.__name__} has a composite primary key")
        return self.pk[0]

    def column(self, key: str) -> sa.Column[Any]:
        return self.columns_by_key[key]

    # --- keys of upserts and refusals -----------------------------------------------------

    def conflict_target(self, conflict: Sequence[Any]) -> tuple[str, ...]:
        """The conflict columns as keys; refused unless they are the primary key or a
        unique constraint/index of the table (what ON CONFLICT / ON DUPLICATE KEY need)."""
        if isinstance(conflict, str):
            conflict = [conflict]
        keys = self.keys_of(conflict, "conflict")
        if not keys:
            raise BulkInputError("upsert_many needs conflict=[...] columns")
        if frozenset(keys) not in self.unique_keys:
            options = " or ".join(sorted(repr(sorted(k)) for k in self.unique_keys))
            raise BulkInputError(
                f"conflict={list(keys)!r} is not the primary key or a unique key of "
                f"{self.model.__name__}: use one of {options}"
            )
        return keys

    def keys_of(self, names: Sequence[Any], what: str) -> tuple[str, ...]:
        keys = tuple(name if isinstance(name, str) else str(name.key) for name in names)
        unknown = sorted(set(keys) - self.key_set)
        if unknown:
            raise BulkInputError(
                f"{what}=: {self.model.__name__} has no field(s) {', '.join(unknown)}"
            )
        return keys

    def upsert_sets(
        self, keys: tuple[str, ...], target: tuple[str, ...], chosen: tuple[str, ...] | None,
        given: frozenset[str],
    ) -> tuple[str, ...]:
        """The columns a conflicting row updates: `update=` if given, else the fields the
        caller gave, never the conflict columns or the primary key."""
        names = set(chosen) if chosen is not None else set(given) - set(self.pk)
        return tuple(key for key in keys if key in names and key not in target)

    def bumps_version(self, sets: Sequence[str]) -> bool:
        """Whether a bulk UPDATE of `sets` adds `version = version + 1`."""
        return self.version is not None and bool(sets) and self.version not in sets

    def constraint_columns(self, name: str | None) -> str | None:
        """The column(s) of the table's constraint or index called `name`, if known."""
        if name is None:
            return None
        items: list[Any] = [*self.table.constraints, *self.table.indexes]
        for item in items:
            if item.name == name:
                return ", ".join(str(column.key) for column in item.columns)
        # MariaDB/MySQL name an unnamed one-column unique key after its column.
        return name if name in self.table.columns else None
