"""Planning a projection's relationship fields: which relationship a schema field reads, and
how (joined into the parent's statement, or one more keyed query for all parents).

- A many-to-one whose schema holds only columns, to a table not yet in the statement, is
  LEFT JOINed (`Joined`): no extra query.
- Everything else is read by one query per relationship level for all the parents' keys
  (`Related`, _projection_related.py): a collection (one-to-many), a many-to-one whose
  schema nests further or points back at its own table (`parent`), a many-to-many through
  its link table (the far rows, `tags: list[TagPublic]`), or the link rows themselves when
  the field's schema has the link model's fields (`powers: list[HeroPowerPublic]` with a
  `level` column and the `power` nested).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, RelationshipDirection, RelationshipProperty

from ._projection_build import schema_in
from ._projection_related import Related

if TYPE_CHECKING:
    from .projection import Projection


@dataclass
class Joined:
    """A many-to-one relationship field, LEFT JOINed: its columns sit at `positions`, and
    the target's primary key at `key_positions` (all NULL: no related row)."""

    name: str
    build: Callable[[dict[str, Any]], Any]
    #: Whether `build` only assembles (no validation): its dict is then the plain value.
    plain: bool
    fields: tuple[str, ...]
    positions: tuple[int, ...]
    key_positions: tuple[int, ...]


#: How planning gets the (cached) projection of a related model onto a nested schema.
ChildOf = Callable[[type[Any], type[Any]], "Projection[Any]"]


def plan_relationship(
    owner: Projection[Any],
    name: str,
    prop: RelationshipProperty[Any],
    annotation: Any,
    child_of: ChildOf,
) -> Joined | Related:
    """How `owner` reads its relationship field `name`; TypeError naming the schema and the
    field (and, for a nested schema's mistake, that schema and field too) if it cannot."""
    where = f"{owner.schema.__name__}.{name}"
    nested, many = schema_in(annotation)
    if nested is None:
        raise TypeError(
            f"{where} is the relationship {owner.model.__name__}.{name}: its type must be a "
            f"schema (S, S | None or list[S]), not {annotation!r}"
        )
    if many != bool(prop.uselist):
        wanted = "a list of a schema" if prop.uselist else "one schema (S | None)"
        raise TypeError(
            f"{where}: {owner.model.__name__}.{name} is "
            f"{'a collection' if prop.uselist else 'one row'}, so the field must be {wanted}"
        )
    target: Mapper[Any] = prop.mapper
    if prop.secondary is not None:
        return _through_link(owner, name, prop, nested, child_of, where)
    pairs = prop.local_remote_pairs or []
    if len(pairs) != 1:
        raise TypeError(
            f"{where}: {owner.model.__name__}.{name} joins over {len(pairs)} column pairs; "
            "only relationships over one foreign-key column can be projected"
        )
    local, remote = pairs[0]
    child = _child(child_of, target.class_, nested, where)
    if prop.direction is RelationshipDirection.MANYTOONE:
        table = target.local_table
        joinable = (
            child.planned
            and not child.joined
            and not child.related
            and table not in owner.tables
        )
        if joinable:
            owner.join(table, prop.primaryjoin)
            columns = [table.c[column.key] for column in child.selected]
            positions = [owner.select_position(column) for column in columns]
            keys = tuple(owner.select_position(column) for column in target.primary_key)
            own = tuple(positions[position] for _, position in child.own)
            return Joined(name, child.construct, child.plain, child.fields, own, keys)
        return Related(
            name, child, False, owner.select_position(local), remote, None,
            list(target.primary_key),
        )
    order = list(prop.order_by) if prop.order_by else list(target.primary_key)
    return Related(name, child, True, owner.select_position(local), remote, None, order)


def _through_link(
    owner: Projection[Any],
    name: str,
    prop: RelationshipProperty[Any],
    nested: type[Any],
    child_of: ChildOf,
    where: str,
) -> Related:
    """A many-to-many: the far rows (the nested schema has the far model's fields) joined
    to the link table, or the link rows (it has the link model's fields)."""
    link: sa.Table = prop.secondary  # type: ignore[assignment]
    near = prop.synchronize_pairs
    far = prop.secondary_synchronize_pairs or []
    if len(near) != 1 or len(far) != 1:
        raise TypeError(
            f"{where}: {owner.model.__name__}.{name} goes through a composite key of "
            f"{link.name}; only one-column keys on each side can be projected"
        )
    parent_column, link_parent = near[0]
    target: Mapper[Any] = prop.mapper
    position = owner.select_position(parent_column)
    link_model = _model_of(link, target)
    if not fits(nested, target) and link_model is not None and fits(nested, link_model):
        child = _child(child_of, link_model.class_, nested, where)
        _, link_far = far[0]
        if prop.order_by:
            order = list(prop.order_by)
            join = None if target.local_table in child.tables else (
                target.local_table, prop.secondaryjoin
            )
        else:
            # The far side's key order, as the far rows would come (then the link's key).
            order = list(dict.fromkeys([link_far, *link_model.primary_key]))
            join = None
        return Related(name, child, True, position, link_parent, join, order)
    child = _child(child_of, target.class_, nested, where)
    order = list(prop.order_by) if prop.order_by else list(target.primary_key)
    return Related(name, child, True, position, link_parent, (link, prop.secondaryjoin), order)


def fits(schema: type[Any], mapper: Mapper[Any]) -> bool:
    """Whether every field of `schema` is a column or a relationship of `mapper`'s model."""
    return all(
        field in mapper.column_attrs or field in mapper.relationships
        for field in schema.model_fields
    )


def _model_of(table: sa.Table, near: Mapper[Any]) -> Mapper[Any] | None:
    """The mapped class of a link table (a `link_model`), if it is one."""
    for mapper in near.registry.mappers:
        if mapper.local_table is table:
            return mapper
    return None


def _child(child_of: ChildOf, model: type[Any], schema: type[Any], where: str) -> Any:
    try:
        return child_of(model, schema)
    except TypeError as error:
        raise TypeError(f"{where}: {error}") from error
