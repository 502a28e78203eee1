"""A filter set's fields resolved against the model, and its WHERE clauses built from them.

Resolving a field (its column, the relationships on the way, the type of its values) and
planning a set of parameters (which conditions share a related row, how each relationship
becomes a subquery) happen once per filter set and per set of parameters used; a request
only binds its values into the cached plan. SQLAlchemy then finds the statement's SQL in its
compiled cache, since the statement's shape is the same.

Related fields never change the statement's FROM: a relationship becomes
`local IN (SELECT remote FROM target WHERE ...)` (many-to-one and one-to-many alike; a
many-to-many goes through its link table the same way), or `EXISTS` (`.any()`/`.has()`)
for a relationship whose join is not plain key equality. So the clauses fit every read path
(a SELECT of the model, of a projection, a COUNT, an UPDATE/DELETE ... WHERE).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from annotated_types import Len
from pydantic import AfterValidator
from sqlalchemy.orm import Mapper, RelationshipProperty
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList

#: Integer column types and the values they hold: a larger value in a comparison is a
#: driver or database error on some backends, so it is refused as the client's mistake.
_INT_RANGES: tuple[tuple[type[Any], int], ...] = (
    (sa.SmallInteger, 2**15),
    (sa.BigInteger, 2**63),
    (sa.Integer, 2**31),
)


@dataclass(frozen=True)
class FieldPath:
    """A filterable field: the relationships from the model to the column's table, and the
    column."""

    name: str
    hops: tuple[RelationshipProperty[Any], ...]
    column: Any  # the model attribute (InstrumentedAttribute) of the last model
    value: Any  # the Python type of one value, with the model field's constraints

    def value_type(self, op: str, max_items: int) -> Any:
        """The type a value of `op` on this field validates as."""
        if op == "isnull":
            return bool
        if op in ("in", "not_in"):
            return Annotated[list[self.value], Len(1, max_items)]  # type: ignore[name-defined]
        if op in ("icontains", "istartswith"):
            return Annotated[str, AfterValidator(_no_nul)]
        return self.value


def resolve(model: type[Any], name: str, *, sortable: bool = False) -> FieldPath:
    """The field `name` (`age`, `team__name`, `team__league__name`) of `model`; a TypeError
    names what does not exist. Sort keys must be columns of the model itself."""
    parts = name.split("__")
    if sortable and len(parts) > 1:
        raise TypeError(f"sort key {name!r}: sort by columns of {model.__name__} itself")
    hops: list[RelationshipProperty[Any]] = []
    current = model
    for part in parts[:-1]:
        mapper: Mapper[Any] = sa.inspect(current)
        relationship = mapper.relationships.get(part)
        if relationship is None:
            raise TypeError(f"filter {name!r}: {current.__name__} has no relationship {part!r}")
        hops.append(relationship)
        current = relationship.mapper.class_
    mapper = sa.inspect(current)
    last = parts[-1]
    if last not in mapper.columns:
        raise TypeError(f"filter {name!r}: {current.__name__} has no column {last!r}")
    column = getattr(current, last)
    return FieldPath(name, tuple(hops), column, _value_type(current, last, mapper.columns[last]))


def _value_type(model: type[Any], key: str, column: Any) -> Any:
    """The model field's own type and constraints where the model declares them (a
    SQLModel), else the column's Python type; plus the column type's limits."""
    base: Any = None
    metadata: list[Any] = []
    field = getattr(model, "model_fields", {}).get(key)
    if field is not None and field.annotation is not None:
        base = _without_none(field.annotation)
        # SQLModel keeps its column options in the metadata: not a constraint on values.
        metadata = [m for m in field.metadata if not type(m).__module__.startswith("sqlmodel")]
    if base is None:
        try:
            base = column.type.python_type
        except NotImplementedError:
            base = Any
    guard = _guard(column.type)
    if guard is not None:
        metadata.append(AfterValidator(guard))
    return Annotated[base, *metadata] if metadata else base


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        arms = [arm for arm in typing.get_args(annotation) if arm is not type(None)]
        return arms[0] if len(arms) == 1 else annotation
    return annotation


def _guard(column_type: Any) -> Callable[[Any], Any] | None:
    """A check of one value against what the column type can hold, or None."""
    while isinstance(column_type, sa.TypeDecorator):  # SQLModel's AutoString, UTCDateTime...
        column_type = column_type.impl_instance
    for kind, bound in _INT_RANGES:
        if isinstance(column_type, kind):

            def in_range(value: Any, bound: int = bound) -> Any:
                if isinstance(value, int) and not -bound <= value < bound:
                    raise ValueError(f"must be between {-bound} and {bound - 1}")
                return value

            return in_range
    if isinstance(column_type, sa.String):
        return _no_nul
    if isinstance(column_type, sa.Float):
        return _finite
    return None


def _no_nul(value: Any) -> Any:
    # PostgreSQL refuses NUL in text parameters: refused everywhere, as the client's mistake.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


# --- operators ----------------------------------------------------------------------------


def _nullable(column: Any) -> bool:
    return bool(getattr(column.expression, "nullable", True))


def _ne(column: Any, value: Any) -> Any:
    # "Not equal" includes the rows without a value: a hero of unknown age is not 30.
    clause = column != value
    return sa.or_(clause, column.is_(None)) if _nullable(column) else clause


def _not_in(column: Any, value: Any) -> Any:
    clause = column.not_in(value)
    return sa.or_(clause, column.is_(None)) if _nullable(column) else clause


#: op -> (column, value) -> clause. icontains/istartswith escape `%`, `_` and the escape
#: character itself in the value (autoescape), so user input is matched literally.
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda column, value: column == value,
    "ne": _ne,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "in": lambda column, value: column.in_(value),
    "not_in": _not_in,
    "isnull": lambda column, value: column.is_(None) if value else column.is_not(None),
    "icontains": lambda column, value: column.icontains(value, autoescape=True),
    "istartswith": lambda column, value: column.istartswith(value, autoescape=True),
}


# --- plans --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One parameter: its name, operator and field."""

    parameter: str
    op: str
    path: FieldPath


@dataclass(frozen=True)
class Plan:
    """The WHERE clauses for one set of parameters: conditions on the model's own columns,
    and, per relationship, the plan of the conditions one related row must meet together
    (`heroes__name=a&heroes__age__gt=30`: one hero that is both)."""

    local: tuple[tuple[str, Any, Callable[[Any, Any], Any]], ...]
    related: tuple[tuple[Callable[[Sequence[Any]], Any], Plan], ...]

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        clauses = [build(column, values[name]) for name, column, build in self.local]
        clauses.extend(wrap(plan.bind(values)) for wrap, plan in self.related)
        return tuple(clauses)


def plan_for(terms: Sequence[Term], depth: int = 0) -> Plan:
    local = []
    groups: dict[str, list[Term]] = {}
    hops: dict[str, RelationshipProperty[Any]] = {}
    for term in terms:
        if len(term.path.hops) == depth:
            local.append((term.parameter, term.path.column, OPERATORS[term.op]))
        else:
            hop = term.path.hops[depth]
            groups.setdefault(hop.key, []).append(term)
            hops[hop.key] = hop
    related = tuple(
        (_subquery(hops[key]), plan_for(group, depth + 1)) for key, group in groups.items()
    )
    return Plan(tuple(local), related)


def _subquery(relationship: RelationshipProperty[Any]) -> Callable[[Sequence[Any]], Any]:
    """How a relationship turns the related row's conditions into a condition on the
    parent: `local IN (SELECT remote FROM target WHERE ...)`, through the link table of a
    many-to-many; EXISTS for a join that is not plain key equality."""
    target = relationship.mapper.local_table
    if relationship.secondary is not None:
        parent_pairs = relationship.synchronize_pairs
        target_pairs = relationship.secondary_synchronize_pairs or []
        if not (
            _plain_join(relationship.primaryjoin, parent_pairs)
            and relationship.secondaryjoin is not None
            and _plain_join(relationship.secondaryjoin, target_pairs)
        ):
            return _exists(relationship)
        secondary = relationship.secondary

        def through_link(where: Sequence[Any]) -> Any:
            targets = sa.select(*(t for t, _ in target_pairs)).select_from(target)
            links = sa.select(*(link for _, link in parent_pairs)).select_from(secondary)
            links = links.where(
                _in([link for _, link in target_pairs], targets.where(*where).correlate(None))
            )
            return _in([p for p, _ in parent_pairs], links.correlate(None))

        return through_link
    pairs = relationship.local_remote_pairs or []
    if not _plain_join(relationship.primaryjoin, pairs):
        return _exists(relationship)
    local = [pair[0] for pair in pairs]
    remote = [pair[1] for pair in pairs]

    def direct(where: Sequence[Any]) -> Any:
        inner = sa.select(*remote).select_from(target).where(*where).correlate(None)
        return _in(local, inner)

    return direct


def _in(columns: Sequence[Any], subquery: Any) -> Any:
    if len(columns) == 1:
        return columns[0].in_(subquery)
    return sa.tuple_(*columns).in_(subquery)


def _exists(relationship: RelationshipProperty[Any]) -> Callable[[Sequence[Any]], Any]:
    attribute = getattr(relationship.parent.class_, relationship.key)
    if relationship.uselist:
        return lambda where: attribute.any(sa.and_(*where))
    return lambda where: attribute.has(sa.and_(*where))


def _plain_join(join: Any, pairs: Sequence[tuple[Any, Any]]) -> bool:
    """Whether `join` is nothing but `a = b` for each pair (ANDed)."""
    terms = list(join.clauses) if isinstance(join, BooleanClauseList) else [join]
    if len(terms) != len(pairs):
        return False
    wanted = {frozenset((_name(a), _name(b))) for a, b in pairs}
    for term in terms:
        if not (isinstance(term, BinaryExpression) and term.operator is operators.eq):
            return False
        if frozenset((_name(term.left), _name(term.right))) not in wanted:
            return False
    return True


def _name(column: Any) -> tuple[int, str]:
    # The join's columns are annotated copies of the table's: compare table and name.
    return id(getattr(column, "table", None)), str(getattr(column, "key", ""))


# --- order --------------------------------------------------------------------------------

_orderings: dict[tuple[type[Any], tuple[str, ...]], list[Any] | None] = {}


def ordering_of(model: type[Any], keys: tuple[str, ...]) -> list[Any] | None:
    """ORDER BY for sort keys (`-age`: descending) with the primary key appended, in the
    direction of the last key (as the keyset orders it), or None for the primary key
    alone ascending: the read paths' default, with their fast paths."""
    cache_key = (model, keys)
    if cache_key in _orderings:
        return _orderings[cache_key]
    mapper: Mapper[Any] = sa.inspect(model)
    order: list[Any] = []
    named: set[str] = set()
    descending = False
    for key in keys:
        descending = key.startswith("-")
        name = key.lstrip("-")
        named.add(name)
        attribute = getattr(model, name)
        order.append(attribute.desc() if descending else attribute)
    primary = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
    default = all(not key.startswith("-") for key in keys) and list(
        dict.fromkeys(k.lstrip("-") for k in keys)
    ) in ([], primary[: len(keys)])
    for name in primary:
        if name not in named:
            attribute = getattr(model, name)
            order.append(attribute.desc() if descending else attribute)
    result = None if default else order
    if len(_orderings) < 4096:
        _orderings[cache_key] = result
    return result
