"""Primary keys as callers give them: one value for a one-column key, one tuple (or
mapping) per row for a composite key, in the mapper's key order.

Every call that takes a key goes through `PrimaryKey`, so a key of the wrong shape is an
`InvalidDataError` naming the model and the columns, never SQLAlchemy's exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper

from .dialects import Backend
from .errors import InvalidDataError


@cache
def primary_key(model: type[Any]) -> PrimaryKey:
    """The `PrimaryKey` of `model`, made once (a Repository is made per request)."""
    return PrimaryKey(model)


class PrimaryKey:
    """The primary key of one mapped model: its attribute names and how to match them."""

    def __init__(self, model: type[Any]) -> None:
        mapper: Mapper[Any] = sa.inspect(model)
        self.model = model
        self.mapper = mapper
        self.columns: tuple[Any, ...] = tuple(mapper.primary_key)
        #: The model attribute of each key column, in the mapper's order.
        self.names: tuple[str, ...] = tuple(
            mapper.get_property_by_column(column).key for column in self.columns
        )
        self.attributes: tuple[Any, ...] = tuple(getattr(model, name) for name in self.names)

    @property
    def composite(self) -> bool:
        return len(self.columns) > 1

    def values(self, key: Any) -> tuple[Any, ...]:
        """`key` as a tuple of column values in key order.

        A one-column key is the value itself (a 1-tuple or a mapping are accepted too);
        a composite key is a tuple or list in key order, or a mapping by attribute name.
        """
        if isinstance(key, Mapping):
            missing = [name for name in self.names if name not in key]
            extra = sorted(set(key) - set(self.names))
            if missing or extra:
                raise self._shape_error(key)
            return tuple(key[name] for name in self.names)
        if isinstance(key, tuple | list):
            if len(key) != len(self.names):
                raise self._shape_error(key)
            return tuple(key)
        if self.composite:
            raise self._shape_error(key)
        return (key,)

    def identity(self, key: Any) -> Any:
        """`key` as `session.get()` takes it: the value, or a tuple for a composite key."""
        values = self.values(key)
        return values if self.composite else values[0]

    def of(self, instance: Any) -> Any:
        """The key of `instance` as callers give it (a value, or a tuple)."""
        values = tuple(getattr(instance, name) for name in self.names)
        return values if self.composite else values[0]

    def where(self, key: Any) -> list[Any]:
        """WHERE clauses that select the row with `key`."""
        return [
            attribute == value
            for attribute, value in zip(self.attributes, self.values(key), strict=True)
        ]

    def membership(self, backend: Backend, keys: Sequence[Any]) -> Iterator[Any]:
        """WHERE clauses that together select the rows whose key is in `keys` (already
        normalised by `values()` for a composite key, plain values otherwise)."""
        if not keys:
            return
        if not self.composite:
            yield from backend.membership(self.attributes[0], keys)
            return
        # Row-value IN works on all three backends (SQLite since 3.15); chunked so that
        # the parameters stay under the driver's limit.
        step = max(1, (backend.max_params - 10) // len(self.names))
        row = sa.tuple_(*self.attributes)
        for start in range(0, len(keys), step):
            yield row.in_(list(keys[start : start + step]))

    def _shape_error(self, key: Any) -> InvalidDataError:
        if self.composite:
            expected = f"a tuple ({', '.join(self.names)}) or a mapping of those names"
        else:
            expected = f"one value for {self.names[0]!r}"
        return InvalidDataError(
            f"{self.model.__name__} key {key!r} has the wrong shape: expected {expected}",
            column=", ".join(self.names),
        )
