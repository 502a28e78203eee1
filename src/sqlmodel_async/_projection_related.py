"""Reading a relationship field for many parents at once: one keyed query per relationship
level (`= ANY(:keys)` with one array parameter on PostgreSQL, chunked `IN` elsewhere),
whatever the number of parents, grouped back onto each parent by key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from .dialects import Backend
    from .projection import Projection, RowSource

#: Relationship levels one read may go down (a self-referential tree read by a recursive
#: schema stops where the data does; rows that refer to each other in a cycle would not).
MAX_DEPTH = 64


@dataclass
class Related:
    """A relationship field read by one more query: `child` projects the rows; `position`
    is where the parent's row holds the value they are keyed on, and `key` the column of
    the child's query holding it (selected last, grouped on). `join`: a table and ON clause
    added to the child's FROM (a many-to-many's link table)."""

    name: str
    child: Projection[Any]
    #: A list of rows (collections) or one row or None (a many-to-one read apart).
    many: bool
    position: int
    key: Any
    join: tuple[Any, Any] | None
    order_by: list[Any]
    #: The statement of every call where the keys bind as one array (PostgreSQL), built once.
    by_keys: Any = None

    def value(self, found: dict[Any, list[Any]], row: Sequence[Any]) -> Any:
        """This field's value for the parent `row`."""
        items = found.get(row[self.position])
        if self.many:
            return [] if items is None else list(items)
        return items[0] if items else None

    async def load(
        self, source: RowSource, rows: Sequence[Any], *, plain: bool, depth: int
    ) -> dict[Any, list[Any]]:
        """The related items of every parent in `rows`, by the parent's key value."""
        keys = [key for key in dict.fromkeys(row[self.position] for row in rows) if key is not None]
        grouped: dict[Any, list[Any]] = {}
        if not keys:
            return grouped
        if depth >= MAX_DEPTH:
            raise ValueError(
                f"{self.child.schema.__name__} nests deeper than {MAX_DEPTH} levels: do the "
                f"{self.child.model.__name__} rows refer to each other in a cycle?"
            )
        child = self.child
        width = child.width
        for statement, parameters, reusable in self.statements(source.backend, keys):
            found = await source.fetch(statement, parameters, reusable=reusable)
            items = await child.build(source, found, plain=plain, depth=depth + 1)
            for row, item in zip(found, items, strict=True):
                grouped.setdefault(row[width], []).append(item)
        return grouped

    def statements(
        self, backend: Backend, keys: list[Any]
    ) -> Iterator[tuple[Any, dict[str, Any] | None, bool]]:
        """(statement, parameters, reusable) reading the related rows of `keys`: one
        statement kept for every call where the keys bind as one array, else `IN` chunks."""
        if backend.has_array_any:
            if self.by_keys is None:
                parameter = sa.bindparam("keys", type_=sa.ARRAY(self.key.type))
                self.by_keys = self._select().where(self.key == sa.any_(parameter))
                self.by_keys = self.by_keys.order_by(*self.order_by)
            yield self.by_keys, {"keys": keys}, True
            return
        for clause in backend.membership(self.key, keys):
            yield self._select().where(clause).order_by(*self.order_by), None, False

    def _select(self) -> sa.Select[Any]:
        return self.child.select(self.key, join=self.join)
