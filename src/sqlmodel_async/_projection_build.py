"""How a projection turns rows into schema instances (or their field dicts): whether values
must be validated, and the builders that skip validation when the database already hands
back each field's type."""

from __future__ import annotations

import operator
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator

SchemaT = TypeVar("SchemaT", bound=BaseModel)

_object_setattr = object.__setattr__


def strip_optional(annotation: Any) -> Any:
    """`X` from `Annotated[X, ...]`, `X | None`, `Optional[X]`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def schema_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The schema of a relationship field and whether it is a collection: `S`, `S | None`
    (one) or `list[S]` (many)."""
    inner = strip_optional(annotation)
    many = typing.get_origin(inner) in (list, Sequence, tuple)
    if many:
        args = typing.get_args(inner)
        inner = strip_optional(args[0]) if args else None
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, many
    return None, many


def needs_validation(schema: type[BaseModel], mapper: Mapper[Any]) -> bool:
    """Whether building must validate: a column value the schema would convert (a Numeric
    read into a float field, an int into a float, a type whose values are unknown), or
    validators declared on the schema class (`field_validator`, `model_validator`: they may
    transform). Checks carried by a field's type (`max_length`, `AfterValidator`...) are not
    run again on what the database hands back."""
    decorators = schema.__pydantic_decorators__
    if decorators.field_validators or decorators.model_validators:
        return True
    for name, info in schema.model_fields.items():
        if name not in mapper.column_attrs:
            continue  # relationships: their instances are built by their own projection
        wanted = strip_optional(info.annotation)
        if wanted is Any:
            continue
        produced = _python_type(mapper.column_attrs[name].columns[0].type)
        if produced is None or not isinstance(wanted, type) or not issubclass(produced, wanted):
            return True
        if produced is bool and wanted is not bool:
            return True
    return False


def values_at(positions: tuple[int, ...]) -> Callable[[Any], Sequence[Any]]:
    """The values at `positions` of a row, as a sequence."""
    if positions == tuple(range(len(positions))):
        width = len(positions)
        return lambda row: row[:width]
    if len(positions) == 1:
        position = positions[0]
        return lambda row: (row[position],)
    getter = operator.itemgetter(*positions)
    return getter


def _python_type(column_type: Any) -> type[Any] | None:
    """The Python type of a column's values as read, None when unknown. A TypeDecorator
    that says `object` (SQLModel's AutoString) but does not convert results reads as the
    type it wraps."""
    while True:
        try:
            produced: type[Any] = column_type.python_type
        except NotImplementedError:
            return None
        if produced is not object:
            return produced
        if not isinstance(column_type, TypeDecorator) or (
            type(column_type).process_result_value is not TypeDecorator.process_result_value
        ):
            return None
        column_type = column_type.impl_instance


def flat_builder(
    schema: type[SchemaT], own: list[tuple[str, int]], *, plain: bool
) -> Callable[[Sequence[Any]], list[Any]]:
    """The instances of a schema of columns only, from rows, by a function written for
    this schema (as `dataclasses` writes `__init__`): each row's values go straight into
    one dict display with the field names and row positions inlined, and the instance is
    assembled as `constructor` does (`plain`: the dicts themselves): no zip and no loop
    over the fields per row, which is most of what the generic loop costs.
    """
    items = ", ".join(f"{name!r}: row[{position:d}]" for name, position in own)
    source = f"def build(rows):\n    return [{{{items}}} for row in rows]\n" if plain else (
        "def build(rows):\n"
        "    built = []\n"
        "    append = built.append\n"
        "    for row in rows:\n"
        "        instance = new(schema)\n"
        f"        set_(instance, '__dict__', {{{items}}})\n"
        "        set_(instance, '__pydantic_fields_set__', set(fields))\n"
        "        set_(instance, '__pydantic_extra__', None)\n"
        "        set_(instance, '__pydantic_private__', None)\n"
        "        append(instance)\n"
        "    return built\n"
    )
    namespace: dict[str, Any] = {
        "new": object.__new__, "set_": _object_setattr, "schema": schema,
        "fields": frozenset(schema.model_fields),
    }
    exec(source, namespace)  # names are the schema's field names (repr'd), positions ints
    build: Callable[[Sequence[Any]], list[Any]] = namespace["build"]
    return build


def joined_dicts_builder(
    own: list[tuple[str, int]], joined: Sequence[Any], order: Sequence[str]
) -> Callable[[Sequence[Any]], list[dict[str, Any]]]:
    """The field dicts of a schema of columns and LEFT JOINed many-to-one fields (a link
    row with its far row nested, say), from rows, by a function written for the schema as
    `flat_builder` writes one: a nested dict display per join, None where the joined row's
    key columns are all NULL. The generic loop zips two dicts per row."""
    parts = {name: f"row[{position:d}]" for name, position in own}
    for join in joined:
        absent = " and ".join(f"row[{position:d}] is None" for position in join.key_positions)
        nested = ", ".join(
            f"{field!r}: row[{position:d}]"
            for field, position in zip(join.fields, join.positions, strict=True)
        )
        parts[join.name] = f"(None if {absent or 'True'} else {{{nested}}})"
    items = ", ".join(f"{name!r}: {parts[name]}" for name in order)
    namespace: dict[str, Any] = {}
    exec(f"def build(rows):\n    return [{{{items}}} for row in rows]\n", namespace)
    build: Callable[[Sequence[Any]], list[dict[str, Any]]] = namespace["build"]
    return build


def as_is(values: dict[str, Any]) -> dict[str, Any]:
    return values


def constructor(schema: type[SchemaT], validate: bool) -> Callable[[dict[str, Any]], SchemaT]:
    """The function that turns one row's values (field name → value) into an instance.

    When the database already hands back each field's type, the instance is assembled
    directly: what `model_construct()` does minus its per-field default and alias handling,
    and `object.__new__` rather than SQLModel's `__new__` (which only sets the same three
    attributes): several times cheaper than `model_construct()` or validating. Otherwise
    the values are validated, so they come out as `Schema.model_validate(orm_instance)`
    would convert them.
    """
    if validate:
        return schema.__pydantic_validator__.validate_python
    fields = frozenset(schema.model_fields)
    new = object.__new__

    def construct(values: dict[str, Any]) -> SchemaT:
        instance: SchemaT = new(schema)
        _object_setattr(instance, "__dict__", values)
        _object_setattr(instance, "__pydantic_fields_set__", set(fields))
        _object_setattr(instance, "__pydantic_extra__", None)
        _object_setattr(instance, "__pydantic_private__", None)
        return instance

    return construct
