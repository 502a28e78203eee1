"""Keeping a session's instances honest after writes it did not flush itself.

Single-row and set-based writes are statements, not ORM flushes: the instances already in
the session must be told what the statement did. A written row's instance gets the row's
values as committed state (not dirty); a deleted row's instance leaves the session, and so
does every instance the database deleted with it (ON DELETE CASCADE); instances whose
foreign key the database set to NULL (ON DELETE SET NULL) get NULL; loaded collections
lose the deleted instance. All from what the schema says, without a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from ._compat import register_new
from ._write_statements import ModelColumns


@dataclass(frozen=True)
class _Reference:
    """A foreign key of `child`'s table that points at the parent's table."""

    child: Mapper[Any]
    child_names: tuple[str, ...]
    #: The parent's attributes it points at, when they are its primary key (else None:
    #: which instances point at a deleted row is then unknown, they are expired).
    parent_key_positions: tuple[int, ...] | None
    ondelete: str
    #: The child's many-to-one relationships over these columns.
    relationships: tuple[str, ...]


@cache
def _references_to(mapper: Mapper[Any]) -> tuple[_Reference, ...]:
    table = mapper.local_table
    key_columns = list(mapper.primary_key)
    found = []
    for child in mapper.registry.mappers:
        for constraint in getattr(child.local_table, "foreign_key_constraints", ()):
            if constraint.referred_table is not table:
                continue
            try:
                child_names = tuple(
                    child.get_property_by_column(c).key for c in constraint.columns
                )
            except sa.orm.exc.UnmappedColumnError:
                continue
            referred = [element.column for element in constraint.elements]
            positions = (
                tuple(key_columns.index(c) for c in referred)
                if all(c in key_columns for c in referred)
                else None
            )
            fk_columns = set(constraint.columns)
            relationships = tuple(
                rel.key
                for rel in child.relationships
                if not rel.uselist and set(rel.local_columns) <= fk_columns
                and rel.mapper is mapper
            )
            found.append(
                _Reference(child, child_names, positions, (constraint.ondelete or "").upper(),
                           relationships)
            )
    return tuple(found)


def sync(instance: Any, meta: ModelColumns, row: Sequence[Any]) -> None:
    """Give `instance` the row's values as its committed state."""
    for name, value in zip(meta.names, meta.values(row), strict=True):
        set_committed_value(instance, name, value)


def attach(
    session: AsyncSession, meta: ModelColumns, instance: Any, row: Sequence[Any], *,
    new: bool = True,
) -> Any:
    """`instance` (transient) with the row's values, persistent in `session`: `new` for a
    row this transaction wrote, else a row it read."""
    # Straight into the instance's dict, as the ORM fills an instance it loads: becoming
    # detached commits them all at once (a value at a time costs an event dispatch each).
    instance.__dict__.update(zip(meta.names, meta.values(row), strict=True))
    make_transient_to_detached(instance)
    identity = sa.inspect(instance).key
    existing = session.identity_map.get(identity)
    if existing is not None and existing is not instance:
        session.expunge(existing)  # an instance of a row deleted by a statement before
    session.add(instance)
    if new:
        # As the ORM registers what it inserts: a rollback expunges it instead of leaving
        # an instance of a row that no longer exists.
        register_new(session, instance)
    return instance


def in_session(session: AsyncSession, meta: ModelColumns, key: tuple[Any, ...]) -> Any | None:
    return session.identity_map.get(meta.mapper.identity_key_from_primary_key(tuple(key)))


def loaded(instance: Any, name: str) -> Any:
    """The value of an attribute that is loaded (not expired), else None."""
    return sa.inspect(instance).dict.get(name)


def forget_deleted(session: AsyncSession, mapper: Mapper[Any], key: tuple[Any, ...]) -> None:
    """The row of `mapper` with primary key `key` was deleted by a statement."""
    existing = session.identity_map.get(mapper.identity_key_from_primary_key(tuple(key)))
    if existing is not None:
        session.expunge(existing)
    references = _references_to(mapper)
    holders = _holders(session, mapper)
    if not references and not holders:
        return
    cascaded: list[tuple[Mapper[Any], tuple[Any, ...]]] = []
    for instance in list(session.identity_map.values()):
        state = sa.inspect(instance)
        for reference in references:
            if not state.mapper.isa(reference.child):
                continue
            values = tuple(state.dict.get(name, _UNLOADED) for name in reference.child_names)
            if reference.parent_key_positions is None or _UNLOADED in values:
                session.expire(instance, list(reference.child_names))
                continue
            if values != tuple(key[i] for i in reference.parent_key_positions):
                continue
            if reference.ondelete == "CASCADE":
                cascaded.append((state.mapper, state.identity))
            elif reference.ondelete == "SET NULL":
                for name in (*reference.child_names, *reference.relationships):
                    set_committed_value(instance, name, None)
            else:
                session.expire(instance, [*reference.child_names, *reference.relationships])
    for holder, name, uselist in holders:
        state = sa.inspect(holder)
        if name not in state.dict:
            continue
        value = state.dict[name]
        if uselist:
            kept = [item for item in value if not _is_row(item, mapper, key)]
            if len(kept) != len(value):
                set_committed_value(holder, name, kept)
        elif value is not None and _is_row(value, mapper, key):
            set_committed_value(holder, name, None)
    for child, child_key in cascaded:
        forget_deleted(session, child, tuple(child_key))


def expire_model(session: AsyncSession, mapper: Mapper[Any], names: Sequence[str]) -> None:
    """A set-based write changed `names` in rows of `mapper` that are not known here."""
    for instance in list(session.identity_map.values()):
        if sa.inspect(instance).mapper.isa(mapper):
            session.expire(instance, list(names))


_UNLOADED = object()


def _is_row(instance: Any, mapper: Mapper[Any], key: tuple[Any, ...]) -> bool:
    state = sa.inspect(instance)
    return bool(state.mapper.isa(mapper) and state.identity == key)


def _holders(session: AsyncSession, mapper: Mapper[Any]) -> list[tuple[Any, str, bool]]:
    """(instance, relationship name, is a collection) for loaded relationships of the
    session's instances that point at `mapper`'s rows."""
    found: list[tuple[Any, str, bool]] = []
    targets = _relationships_to(mapper)
    if not targets:
        return found
    for instance in session.identity_map.values():
        state = sa.inspect(instance)
        for owner, name, uselist in targets:
            if state.mapper.isa(owner) and name in state.dict:
                found.append((instance, name, uselist))
    return found


@cache
def _relationships_to(mapper: Mapper[Any]) -> tuple[tuple[Mapper[Any], str, bool], ...]:
    return tuple(
        (owner, rel.key, bool(rel.uselist))
        for owner in mapper.registry.mappers
        for rel in owner.relationships
        if rel.mapper is mapper
    )
