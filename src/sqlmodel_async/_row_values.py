"""The column values a single-row write sends, validated as the table model validates them.

A table model's own `model_validate` builds an instrumented instance field by field
(SQLModel sets each attribute through SQLAlchemy); a write needs only the values, and the
instance it returns is made from the row the database sends back. So the values are
validated by a plain pydantic model with the table model's fields and configuration (a
mirror), which does the same checks and coercions without the instance. A model whose
validation a mirror would not reproduce (validators, serializers, computed fields, an
`__init__` of its own) is validated by the model itself.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, create_model
from sqlmodel import SQLModel

from ._write_statements import ModelColumns

#: What a model's `__pydantic_decorators__` may hold; any of them: the model validates.
_DECORATOR_KINDS = (
    "validators", "field_validators", "root_validators", "field_serializers",
    "model_serializers", "model_validators", "computed_fields",
)
#: The configuration keys pydantic knows (SQLModel adds `table`, `registry`, ...).
_PYDANTIC_CONFIG = frozenset(ConfigDict.__annotations__)


def new_row_values(
    model: type[SQLModel], meta: ModelColumns, data: BaseModel | Mapping[str, Any]
) -> tuple[dict[str, Any], Any | None]:
    """The values to insert for `data` (a Create schema, validated already, or a mapping,
    validated here), and the model instance they were read from where the model had to
    build one (else None: the caller makes the instance from the inserted row)."""
    mirror = _mirror(model)
    if isinstance(data, BaseModel):
        given = data.model_dump()
        if mirror is not None:  # defaults filled in, nothing validated twice
            return insert_values(meta, mirror.model_construct(**given).__dict__), None
        instance = model(**given)
    else:
        if mirror is not None:
            return insert_values(meta, mirror.model_validate(dict(data)).__dict__), None
        # Validated from attributes, not from the dict: SQLModel reads relationships off
        # the input with getattr(), so a relationship named `items` would get dict.items.
        instance = model.model_validate(SimpleNamespace(**data), from_attributes=True)
    return insert_values(meta, instance.__dict__), instance


def insert_values(meta: ModelColumns, source: Mapping[str, Any]) -> dict[str, Any]:
    """The column values to insert from `source` (attribute name -> value); a None the
    database fills in (a generated key, a server or column default) is left out, as the
    ORM leaves it out."""
    values = {}
    for name, column in zip(meta.names, meta.columns, strict=True):
        value = source.get(name)
        if value is None:
            if name == meta.version_name and meta.version_bumped:
                value = 1
            elif column.primary_key or column.server_default is not None or (
                column.default is not None
            ):
                continue
        values[name] = value
    return values


def validated_values(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """Some of the model's fields, validated and coerced through the model's own field
    types (pydantic's ValidationError, as for a whole instance)."""
    validated = _partial_model(model).model_validate(values)
    return {name: getattr(validated, name) for name in values}


@cache
def _mirror(model: type[SQLModel]) -> type[BaseModel] | None:
    """A plain pydantic model validating as `model` does, or None where it would not."""
    decorators = model.__pydantic_decorators__
    if (
        any(getattr(decorators, kind) for kind in _DECORATOR_KINDS)
        # SQLAlchemy instruments a mapped class's __init__; the one it wraps is the model's.
        or sa.inspect(model).class_manager.original_init is not SQLModel.__init__
        or model.model_post_init is not SQLModel.model_post_init
    ):
        return None
    config = {k: v for k, v in model.model_config.items() if k in _PYDANTIC_CONFIG}
    config.pop("from_attributes", None)
    fields: dict[str, Any] = {
        name: (info.annotation, copy.copy(info)) for name, info in model.model_fields.items()
    }
    settings = cast(ConfigDict, config)
    # Named as the model, so a ValidationError reads as the model's own.
    return create_model(model.__name__, __config__=settings, **fields)


@cache
def _partial_model(model: type[SQLModel]) -> type[BaseModel]:
    """A pydantic model with the table model's fields, none required: validates the
    fields an update gives, and only those."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[name] = (info.annotation, optional)
    return create_model(f"{model.__name__}Values", **fields)
