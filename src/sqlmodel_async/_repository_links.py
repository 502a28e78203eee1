"""Links of `Repository`: the many-to-many relationships of its model (_links.py does the
work). All in the caller's transaction (nothing commits); each call is all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ._links import Atomic, Link, LinkWriter, RelationshipRef, links_of
from ._repository_base import ModelT, RepositoryBase
from .errors import InvalidDataError


class LinkMethods(RepositoryBase[ModelT]):
    if TYPE_CHECKING:  # from WriteMethods, next to this in Repository's bases

        async def create(self, data: ModelT | BaseModel | Mapping[str, Any]) -> ModelT: ...

    async def set_links(
        self, key: Any, relationship: RelationshipRef, links: Iterable[Link]
    ) -> int:
        """Replace the links of the row with primary key `key` through `relationship`
        (`Hero.powers` or `"powers"`, declared with `link_model=`) by `links`: far keys
        (`[1, 2]`) or mappings / schemas of the link's columns
        (`[{"power_id": 1, "level": 3}]`). Returns the number of links it now has.
        `NotFoundError`: no such row; `ForeignKeyError` naming the link column and the
        keys: an unknown far row (nothing is changed)."""
        return await self._links(relationship).replace(key, links)

    async def add_links(
        self, key: Any, relationship: RelationshipRef, links: Iterable[Link]
    ) -> int:
        """Add `links` (as `set_links` takes them) to the row's; a link that exists is
        kept once, with the data given now (idempotent). Returns the number given."""
        return await self._links(relationship).add(key, links)

    async def remove_links(
        self, key: Any, relationship: RelationshipRef, far_keys: Iterable[Any]
    ) -> int:
        """Remove the row's links to `far_keys`; returns how many there were."""
        return await self._links(relationship).remove(key, far_keys)

    async def create_with_links(
        self, data: ModelT | BaseModel | Mapping[str, Any], **links: Iterable[Link]
    ) -> ModelT:
        """`create(data)` and its links in one all-or-nothing call:
        `create_with_links(hero, powers=[{"power_id": 1, "level": 3}])`. A field of `data`
        named after a many-to-many relationship (a nested Create schema's
        `powers: list[PowerLink]`) is taken as its links too. Far keys are checked first:
        `ForeignKeyError` naming the unknown ones, and nothing is written."""
        if isinstance(data, self.model):
            values: Any = data
        else:
            values = data.model_dump() if isinstance(data, BaseModel) else dict(data)
            for name in list(values):
                relationship = self._mapper.relationships.get(name)
                if relationship is not None and relationship.secondary is not None:
                    given = values.pop(name)
                    if name in links:
                        raise InvalidDataError(f"{name} given twice", column=name)
                    if given is not None:
                        links[name] = given
        async with Atomic(self.session, self.backend):
            writers = await links_of(self.model, self.session, self.backend, links)
            instance = await self.create(values)
            for writer, rows in writers:
                await writer.insert_new(getattr(instance, writer.parent_attribute), rows)
        return instance

    def _links(self, relationship: RelationshipRef) -> LinkWriter:
        return LinkWriter(self.model, relationship, self.session, self.backend)
