"""Input rows of bulk writes as column values: the defaults the ORM would apply, the
refusal of unknown or missing fields, and the check of every value, column by column
(one pydantic call per column and chunk, not one model instance per row).

Plain dicts, the common input, take the fast paths: their key sets are checked once per
distinct set, and the loops over rows are list comprehensions and C-driven builtins, the
fastest loops Python has; this is the per-row cost of every bulk write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from ._bulk_table import TableShape
from .errors import BulkInputError


@dataclass(frozen=True)
class ColumnChunk:
    """A chunk of uniform dicts as checked columns (`RowInput.insert_columns`)."""

    #: The fields of each row's instance, in `insert_row`'s order.
    order: tuple[str, ...]
    #: The columns to insert (omittable ones that every row leaves None are left out).
    keys: tuple[str, ...]
    columns: list[list[Any]]
    rows: int


class RowInput(TableShape):
    """Rows to dicts of column values, and columns of checked values (part of TablePlan)."""

    # --- rows to insert ---------------------------------------------------------------

    def insert_rows(
        self, chunk: list[Any], start: int, *, shared: bool = False
    ) -> list[dict[str, Any]]:
        """`insert_row` for a chunk; plain dicts (the common case) go through list
        comprehensions.

        `shared`: the caller only reads the result, so a row that gives every column
        may be the caller's own dict (never written to: a default makes a copy)."""
        if set(map(type, chunk)) != {dict}:  # C loop, unlike all(<genexpr>)
            return [self.insert_row(row, start + i) for i, row in enumerate(chunk)]
        # Rows share a handful of key sets: each distinct one is checked once
        # (map(tuple, ...) runs in C).
        shapes = set(map(tuple, chunk))
        self._check_shapes(chunk, shapes, start, insert=True)
        if shared and all(len(shape) == len(self.keys) for shape in shapes):
            # Every row gives every column: nothing to merge, no dict copied per row.
            values = list(chunk)
        else:
            values = self._with_defaults(chunk)
        self._apply_column_defaults(values)
        return values

    def _check_shapes(
        self, chunk: list[dict[str, Any]], shapes: set[tuple[str, ...]], start: int, *,
        insert: bool,
    ) -> None:
        """Refuse the first row whose key set has an unknown field, or (`insert`) misses
        a required one."""
        key_set, required = self.key_set, self.required
        for shape in shapes:
            if not key_set.issuperset(shape) or (insert and not required.issubset(shape)):
                index = next(i for i, row in enumerate(chunk) if tuple(row) == shape)
                self._refuse_keys(shape, start + index)

    def _with_defaults(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each row merged over the defaults, with the per-row factories called where the
        row does not give their field (in row order, field after field)."""
        defaults = self.defaults
        values = [{**defaults, **row} for row in chunk]
        for key, factory in self.factories:
            for given, merged in zip(chunk, values, strict=True):
                if key not in given:
                    merged[key] = factory()
        return values

    def _apply_column_defaults(self, values: list[dict[str, Any]]) -> None:
        """A None replaced by the column's SQLAlchemy default, as the ORM does; the row's
        dict is copied first (it may be the caller's)."""
        for key, default in self.column_defaults:
            if None in [merged[key] for merged in values]:
                for i in [i for i, merged in enumerate(values) if merged[key] is None]:
                    values[i] = {**values[i], key: default()}

    def insert_row(self, row: Any, index: int) -> dict[str, Any]:
        """All column values of `row`, with the defaults the ORM would apply."""
        if type(row) is not dict and isinstance(row, self.model):
            state = row.__dict__
            values = {key: state.get(key) for key in self.keys}
        else:
            data = row if type(row) is dict else self._mapping(row, index)
            given = data.keys()
            if not (given <= self.key_set and given >= self.required):
                self._refuse_keys(given, index)
            values = {**self.defaults, **data}
            for key, factory in self.factories:
                if key not in data:
                    values[key] = factory()
        for key, default in self.column_defaults:
            if values[key] is None:
                values[key] = default()
        return values

    # --- rows to update or upsert -------------------------------------------------------

    def update_rows(self, chunk: list[Any], start: int) -> list[dict[str, Any]]:
        """`update_row` for a chunk. Plain dicts are checked key set by key set and
        column by column, and are used as they are: update_many only reads them."""
        if set(map(type, chunk)) != {dict}:  # C loop, unlike all(<genexpr>)
            return [self.update_row(row, start + i) for i, row in enumerate(chunk)]
        self._check_shapes(chunk, set(map(tuple, chunk)), start, insert=False)
        for key in self.pk:
            column = [row.get(key) for row in chunk]
            if None in column:
                index = start + column.index(None)
                raise BulkInputError(
                    f"row {index}: update_many needs the primary key {key!r}", row=index, field=key
                )
        rows: list[dict[str, Any]] = chunk
        return rows

    def update_row(self, row: Any, index: int) -> dict[str, Any]:
        """The values of an update row: the primary key and the fields to change."""
        if type(row) is dict:
            data = dict(row)
        elif isinstance(row, BaseModel):
            data = row.model_dump(exclude_unset=True)
        else:
            data = dict(self._mapping(row, index))
        if not data.keys() <= self.key_set:
            self._refuse_keys(data.keys(), index)
        for key in self.pk:
            if data.get(key) is None:
                raise BulkInputError(
                    f"row {index}: update_many needs the primary key {key!r}", row=index, field=key
                )
        return data

    def require_keys(
        self, rows: list[dict[str, Any]], start: int, keys: Sequence[str], what: str
    ) -> None:
        """Refuse the first row that leaves one of `keys` empty (BulkInputError naming it)."""
        for key in keys:
            column = [row.get(key) for row in rows]
            if None in column:
                index = start + column.index(None)
                raise BulkInputError(
                    f"row {index}: {what} matches rows by the primary key, and this row has "
                    f"no {key!r} (pass conflict=[...] to match on a unique key)",
                    row=index, field=key,
                )

    def given_keys(self, chunk: list[Any], start: int) -> list[frozenset[str]]:
        """The fields each row gives (what an upsert updates on conflict); all but the
        primary key for model instances."""
        everything = frozenset(key for key in self.keys if key not in self.pk)
        if set(map(type, chunk)) == {dict}:
            # One frozenset per distinct key set, not per row; one shared object when
            # every row gives the same keys (insert_groups then sees a uniform chunk).
            sets = {shape: frozenset(shape) for shape in set(map(tuple, chunk))}
            if len(set(sets.values())) == 1:
                return [next(iter(sets.values()))] * len(chunk)
            return [sets[tuple(row)] for row in chunk]
        return [
            frozenset(row) if type(row) is dict
            else everything if isinstance(row, self.model)
            else frozenset(self._mapping(row, start + i))
            for i, row in enumerate(chunk)
        ]

    def _mapping(self, row: Any, index: int) -> Mapping[str, Any]:
        if isinstance(row, Mapping):
            return row
        if isinstance(row, BaseModel):
            return row.model_dump()
        raise BulkInputError(
            f"row {index}: expected a {self.model.__name__}, a mapping or a pydantic model, "
            f"got {type(row).__name__}",
            row=index,
        )

    def _refuse_keys(self, given: Any, index: int) -> None:
        unknown = sorted(set(given) - self.key_set)
        if unknown:
            raise BulkInputError(
                f"row {index}: {self.model.__name__} has no field(s) {', '.join(unknown)}",
                row=index, field=unknown[0],
            )
        missing = sorted(self.required - set(given))
        raise BulkInputError(
            f"row {index}: missing required field(s) {', '.join(missing)}",
            row=index, field=missing[0],
        )

    # --- checked columns ------------------------------------------------------------------

    def columns(
        self, group: list[dict[str, Any]], keys: Sequence[str], start: int, positions: list[int]
    ) -> list[list[Any]]:
        """The group's values column by column, each column checked in one pydantic call."""
        return [self._checked([row[key] for row in group], key, start, positions)
                for key in keys]

    def insert_columns(self, chunk: list[Any], start: int) -> ColumnChunk | None:
        """Checked columns straight from plain dicts that all give the same keys, with no
        merged dict per row. None (nothing checked yet) when the chunk needs the
        row-by-row path: other rows, mixed key sets, an omittable column None in some
        rows."""
        if set(map(type, chunk)) != {dict}:
            return None
        shapes = set(map(tuple, chunk))
        if len(shapes) != 1:
            return None
        shape = shapes.pop()
        if not (self.key_set.issuperset(shape) and self.required.issubset(shape)):
            self._refuse_keys(shape, start)
        n = len(chunk)
        raw = self._raw_columns(chunk, shape)
        column_defaults = dict(self.column_defaults)
        for key in self.omittable:
            if key not in column_defaults and None in raw[key] and raw[key].count(None) != n:
                return None  # some rows leave it to the database, others do not
        keys = self._inserted_columns(raw, column_defaults, n)
        positions = range(n)
        columns = [self._checked(raw[key], key, start, positions) for key in keys]
        return ColumnChunk(self.row_order(shape), tuple(keys), columns, n)

    def _raw_columns(
        self, chunk: list[dict[str, Any]], shape: tuple[str, ...]
    ) -> dict[str, list[Any]]:
        """The chunk's columns as given, defaults and factories filled in (the factories
        called per row, in `insert_rows`' order of calls)."""
        n = len(chunk)
        defaults = self.defaults
        raw = {key: [row[key] for row in chunk] if key in shape else [defaults[key]] * n
               for key in self.keys if key in shape or key in defaults}
        for key, factory in self.factories:
            if key not in shape:
                raw[key] = [factory() for _ in range(n)]
        return raw

    def _inserted_columns(
        self, raw: dict[str, list[Any]], column_defaults: dict[str, Any], n: int
    ) -> list[str]:
        """The columns to insert, in table order, with the column defaults applied in
        `raw`; an omittable column that every row leaves None is left to the database."""
        keys: list[str] = []
        for key in self.keys:
            values = raw[key]
            if key in column_defaults and None in values:
                default = column_defaults[key]
                values = [default() if value is None else value for value in values]
            if key in self.omittable and values.count(None) == n:
                continue  # left out: the database fills it in
            keys.append(key)
            raw[key] = values
        return keys

    def row_order(self, shape: Sequence[str]) -> tuple[str, ...]:
        """The keys of `insert_row`'s dict for a row giving `shape`, in its order (the
        order an instance built from it holds, and model_dump() shows, its fields)."""
        cache_key = ("row_order", tuple(shape))
        cached: tuple[str, ...] | None = self.cache.get(cache_key)
        if cached is None:
            order = {**self.defaults, **dict.fromkeys(shape)}
            order.update((key, None) for key, _ in self.factories if key not in order)
            cached = self.cache[cache_key] = tuple(order)
        return cached

    def _checked(
        self, values: list[Any], key: str, start: int, positions: Sequence[int]
    ) -> list[Any]:
        """One column checked in one pydantic call; BulkInputError names the row."""
        adapter = self.adapters.get(key)
        if adapter is None:
            return values
        try:
            return adapter.validate_python(values)
        except ValidationError as error:
            first = error.errors()[0]
            where = first["loc"][0] if first["loc"] else 0
            index = start + positions[int(where)]
            raise BulkInputError(
                f"row {index}: field {key!r}: {first['msg']}", row=index, field=key
            ) from None
