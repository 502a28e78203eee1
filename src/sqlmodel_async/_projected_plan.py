"""What reads of one (model, schema) pair need, planned once and cached: the schema's
projection (projection.py), its JSON serializers, the by-key statement and the keyset of
the default order. `Projected` (projected.py) is a thin pair of such a plan and a source;
a stream over a `Reader` reads through `WhileOpen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel

from ._keys import PrimaryKey
from .keyset import Keyset
from .projection import Projection, projection_for
from .schema_json import JsonSerializer

#: An ORDER BY item such as `Hero.name` or `Hero.name.desc()`.
Order = Any

#: Key values that need no normalising (the common one-column keys).
_SCALAR_KEYS = (int, str, UUID)


class ReadPlan:
    """What reads of `schema` from `model` need, made once per pair."""

    __slots__ = ("by_key", "key", "keyset", "many", "one", "projection")

    def __init__(self, model: type[Any], schema: type[BaseModel]) -> None:
        projection = projection_for(model, schema)
        self.projection: Projection[Any] = projection
        self.key = PrimaryKey(model)
        self.one: JsonSerializer = projection.json_serializer(many=False)
        self.many: JsonSerializer = projection.json_serializer(many=True)
        #: The keyset of the default order (by primary key), for pages and streams.
        self.keyset = Keyset(model)
        if self.key.composite:
            names = [f"pk_{index}" for index in range(len(self.key.columns))]
            self.by_key: Any = projection.select().where(
                *(
                    column == sa.bindparam(name, type_=column.type)
                    for column, name in zip(self.key.columns, names, strict=True)
                )
            )
        else:
            self.by_key = projection.get_statement

    def key_parameters(self, key: Any) -> dict[str, Any]:
        """The by-key statement's parameters for `key`; a key of the wrong shape is an
        `InvalidDataError` (PrimaryKey)."""
        if type(key) in _SCALAR_KEYS and not self.key.composite:
            return {"pk": key}
        values = self.key.values(key)
        if not self.key.composite:
            return {"pk": values[0]}
        return {f"pk_{index}": value for index, value in enumerate(values)}

    def keyset_for(self, order_by: Sequence[Order] | None) -> Keyset:
        return self.keyset if not order_by else Keyset(self.projection.model, order_by)


_plans: dict[tuple[type[Any], type[Any]], ReadPlan] = {}


def plan_for(model: type[Any], schema: type[BaseModel]) -> ReadPlan:
    found = _plans.get((model, schema))
    if found is None:
        found = _plans[(model, schema)] = ReadPlan(model, schema)
    return found


class WhileOpen:
    """A Reader as a stream's `RowSource`: each batch checks that the reader's block has
    not ended (its connection would be back in the pool, or another task's by now)."""

    __slots__ = ("backend", "reader")

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.backend = reader.backend

    async def fetch(
        self, statement: Any, parameters: dict[str, Any] | None = None, *, reusable: bool = False
    ) -> Sequence[Any]:
        if self.reader.closed:
            raise RuntimeError(
                "a stream over a Reader was read after the reader's block ended: "
                "consume it inside `async with database.reader() as reader:`"
            )
        rows: Sequence[Any] = await self.reader.fetch(statement, parameters, reusable=reusable)
        return rows
