"""A response schema's JSON written from plain dicts, byte for byte what its own serializer
writes for its instances (by alias, as FastAPI's `response_model` does).

Building a pydantic instance per row and then serialising it costs more than the read
itself for a page of rows (docs/benchmarks.md); dicts cost a fraction of that to build
and to dump. The same fields declared on a
TypedDict serialise dicts with the same per-field serializers, so `Projected.list_json()`
skips the instances altogether.

Only where that is provably the same output: a schema whose serialisation has hooks of
its own (`field_serializer`, `model_serializer`, computed fields, aliases, `exclude`, an
alias generator) is written from instances as before.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

#: The configuration keys that change how values are written (everything else of a
#: model's config is about validation or the class itself).
_SERIALIZATION_CONFIG = (
    "ser_json_timedelta", "ser_json_temporal", "ser_json_bytes", "ser_json_inf_nan",
)


#: The functional TypedDict form, with a name known only at run time.
_typed_dict_class: Any = TypedDict


class _Unsupported(Exception):
    """The schema's JSON may differ from what a TypedDict of its fields writes."""


@dataclass(frozen=True)
class JsonSerializer:
    """Writes a schema's JSON (a list of them with `many`) from what `plain` says it takes:
    dicts of the fields (nested schemas as dicts, keys in field order) or instances."""

    plain: bool
    adapter: TypeAdapter[Any]

    def dump(self, value: Any) -> bytes:
        """JSON by alias, as FastAPI's `response_model` writes it."""
        return self.adapter.dump_json(value, by_alias=True)


@cache
def json_serializer(schema: type[BaseModel], *, many: bool, dicts: bool) -> JsonSerializer:
    """The serializer of `schema` (`list[schema]` with `many`): from dicts when `dicts`
    (the caller's values are already of the fields' types) and the schema's JSON does not
    depend on its class, else from instances. Built once: a TypeAdapter compiles a
    serializer."""
    if dicts:
        try:
            fields = _typed_dict(schema)
        except _Unsupported:
            pass
        else:
            return JsonSerializer(True, TypeAdapter(_many(fields) if many else fields))
    return JsonSerializer(False, TypeAdapter(_many(schema) if many else schema))


def _many(item: Any) -> Any:
    return list.__class_getitem__(item)


#: The schemas whose TypedDict is being made: a schema that nests itself (a tree) meets
#: itself again, and is written from instances instead.
_making: set[type[BaseModel]] = set()


@cache
def _typed_dict(schema: type[BaseModel]) -> Any:
    if schema in _making:
        raise _Unsupported(schema)
    _making.add(schema)
    try:
        return _mirror(schema)
    finally:
        _making.discard(schema)


def _mirror(schema: type[BaseModel]) -> Any:
    decorators = schema.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers:
        raise _Unsupported(schema)
    if decorators.computed_fields or schema.model_config.get("alias_generator"):
        raise _Unsupported(schema)
    annotations: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if info.exclude or info.serialization_alias not in (None, name):
            raise _Unsupported(schema)
        if info.alias not in (None, name):
            raise _Unsupported(schema)
        annotation = _mirrored(info.annotation)
        annotations[name] = (
            Annotated[(annotation, *info.metadata)] if info.metadata else annotation
        )
    mirror = _typed_dict_class(f"{schema.__name__}Fields", annotations)
    settings: dict[str, Any] = dict(schema.model_config)
    mirror.__pydantic_config__ = {
        key: settings[key] for key in _SERIALIZATION_CONFIG if key in settings
    }
    return mirror


def _mirrored(annotation: Any) -> Any:
    """`annotation` with every schema in it replaced by its TypedDict (`S`, `S | None`,
    `list[S]`, `Optional[S]`); a schema anywhere else is not supported."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _typed_dict(annotation)
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if not arguments or not _holds_schema(annotation):
        return annotation
    if origin in (typing.Union, types.UnionType):
        mirrored = tuple(_mirrored(argument) for argument in arguments)
        return typing.Union[mirrored]  # noqa: UP007 (built from a tuple)
    if origin is list and len(arguments) == 1:
        return list[_mirrored(arguments[0])]  # type: ignore[misc]
    raise _Unsupported(annotation)


def _holds_schema(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_schema(argument) for argument in typing.get_args(annotation))
