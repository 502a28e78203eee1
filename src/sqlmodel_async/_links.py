"""Writing the links of a many-to-many relationship (one declared with `link_model=`, or an
SQLAlchemy `secondary` table): replace, add or remove a parent's links, and create a parent
with its links.

A link is given as the far row's key (`3`), or as a mapping / schema holding the link
table's column for it and the link's other columns (`{"power_id": 3, "level": 2}`). Each
call is all-or-nothing and leaves the caller's transaction usable:

1. the parent row is read and locked (`NotFoundError` if there is none): concurrent
   writes of the same parent's links queue instead of interleaving;
2. the far keys are checked in one query per chunk: an unknown one is a `ForeignKeyError`
   naming the link column and the missing keys, before anything is written;
3. the links being replaced are deleted (one DELETE per chunk of keys) and the new ones
   inserted through the bulk machinery (`Repository(Link, session).create_many`, one
   statement per chunk).

Duplicates are idempotent: adding a link that exists replaces its data (the link ends up
as given, once), and a key given twice in one call counts once, the last one's data
winning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSessionTransaction
from sqlalchemy.orm import Mapper, RelationshipProperty
from sqlmodel.ext.asyncio.session import AsyncSession

from .dialects import Backend
from .errors import ForeignKeyError, InvalidDataError, NotFoundError, translate

#: A relationship as `link` methods take it: the attribute (`Hero.powers`) or its name.
RelationshipRef = Any
#: One link: the far row's key, or a mapping / schema of the link table's columns.
Link = Any


class LinkWriter:
    """The links of one many-to-many relationship of `model`, through one session."""

    def __init__(
        self, model: type[Any], relationship: RelationshipRef, session: AsyncSession,
        backend: Backend,
    ) -> None:
        mapper: Mapper[Any] = sa.inspect(model)
        name: str | None = None
        if isinstance(relationship, str):
            name = relationship
        else:
            given = getattr(relationship, "property", None)
            name = given.key if isinstance(given, RelationshipProperty) else None
            if name is not None and mapper.relationships.get(name) is not given:
                name = None
        prop = mapper.relationships.get(name) if name is not None else None
        if prop is None:
            raise TypeError(f"{relationship!r} is not a relationship of {model.__name__}")
        if prop.secondary is None:
            raise TypeError(
                f"{model.__name__}.{prop.key} is not a many-to-many relationship (no "
                "link_model / secondary): write its rows with Repository of the related model"
            )
        if len(prop.synchronize_pairs) != 1 or len(prop.secondary_synchronize_pairs or ()) != 1:
            raise TypeError(f"{model.__name__}.{prop.key}: composite link keys are not supported")
        self.model = model
        self.prop: RelationshipProperty[Any] = prop
        self.session = session
        self.backend = backend
        self.where = f"{model.__name__}.{prop.key}"
        self.table: sa.Table = prop.secondary  # type: ignore[assignment]
        parent_column, self.near = prop.synchronize_pairs[0]
        far_column, self.far = (prop.secondary_synchronize_pairs or [])[0]
        self.far_model: type[Any] = prop.mapper.class_
        self.far_key = far_column
        self.parent_key = parent_column
        self.parent_attribute = mapper.get_property_by_column(parent_column).key
        self.link_model = next(
            (m.class_ for m in mapper.registry.mappers if m.local_table is self.table), None
        )

    # --- the operations ----------------------------------------------------------------

    async def replace(self, key: Any, links: Iterable[Link]) -> int:
        """The parent's links become exactly `links`; returns how many it now has."""
        rows = self.rows(links)
        async with self._atomic():
            await self._lock_parent(key)
            await self.check_far_keys(list(rows))
            await self._execute(sa.delete(self.table).where(self.near == key))
            count = await self._insert(key, rows)
        self.forget(key)
        return count

    async def add(self, key: Any, links: Iterable[Link]) -> int:
        """Add `links` (an existing one gets the given data); returns how many were given."""
        rows = self.rows(links)
        async with self._atomic():
            await self._lock_parent(key)
            await self.check_far_keys(list(rows))
            await self._delete(key, list(rows))
            count = await self._insert(key, rows)
        self.forget(key)
        return count

    async def remove(self, key: Any, far_keys: Iterable[Any]) -> int:
        """Remove the links to `far_keys`; returns how many there were."""
        keys = list(dict.fromkeys(self.rows(far_keys)))
        async with self._atomic():
            await self._lock_parent(key)
            count = await self._delete(key, keys)
        self.forget(key)
        return count

    async def insert_new(self, key: Any, rows: dict[Any, dict[str, Any]]) -> int:
        """The links of a parent created in this transaction (the far keys checked)."""
        return await self._insert(key, rows)

    # --- parts -------------------------------------------------------------------------

    def rows(self, links: Iterable[Link]) -> dict[Any, dict[str, Any]]:
        """The link rows by far key (the last of a key given twice wins), without the
        parent's key; InvalidDataError for a column the link table does not have."""
        far_name = str(self.far.key)
        near_name = str(self.near.key)
        rows: dict[Any, dict[str, Any]] = {}
        if isinstance(links, (str, bytes, Mapping, BaseModel)):
            raise InvalidDataError(f"{self.where}: links must be a list, got {links!r}")
        for link in links:
            if isinstance(link, BaseModel):
                link = link.model_dump()
            if isinstance(link, Mapping):
                values = dict(link)
                unknown = sorted(set(values) - set(self.table.columns.keys()))
                if unknown:
                    raise InvalidDataError(
                        f"{self.where}: the link table {self.table.name} has no column "
                        f"{', '.join(unknown)}", column=unknown[0],
                    )
                if far_name not in values or values[far_name] is None:
                    raise InvalidDataError(
                        f"{self.where}: a link needs {far_name!r}", column=far_name
                    )
                values.pop(near_name, None)
            else:
                values = {far_name: link}
            far_key = values[far_name]
            rows.pop(far_key, None)  # re-inserted last: the last one given wins
            rows[far_key] = values
        return rows

    async def check_far_keys(self, keys: list[Any]) -> None:
        """ForeignKeyError naming the link column and the keys no far row has."""
        if not keys:
            return
        found: set[Any] = set()
        for clause in self.backend.membership(self.far_key, keys):
            result = await self._execute(sa.select(self.far_key).where(clause))
            found.update(result.scalars())
        missing = [key for key in keys if key not in found]
        if missing:
            column = str(self.far.key)
            detail = f"{column} {', '.join(map(str, missing))}: no such {self.far_model.__name__}"
            error = ForeignKeyError(f"{self.where}: {detail}", column=column, detail=detail)
            error.missing = missing
            raise error

    async def _execute(self, statement: Any, parameters: Any = None) -> Any:
        """Core `statement` on the session's connection, its pending writes flushed first
        (what `session.execute()` does, without the ORM's execute path)."""
        sync = self.session.sync_session
        if sync.autoflush and (sync.new or sync.deleted or sync.dirty):
            await self.session.flush()
        connection = await self.session.connection()
        return await connection.execute(statement, parameters)

    async def _lock_parent(self, key: Any) -> None:
        statement = sa.select(self.parent_key).where(self.parent_key == key).with_for_update()
        if (await self._execute(statement)).first() is None:
            raise NotFoundError(self.model, key)

    async def _delete(self, key: Any, far_keys: list[Any]) -> int:
        deleted = 0
        for clause in self.backend.membership(self.far, far_keys):
            statement = sa.delete(self.table).where(self.near == key, clause)
            result = await self._execute(statement)
            deleted += result.rowcount
        return deleted

    async def _insert(self, key: Any, rows: dict[Any, dict[str, Any]]) -> int:
        if not rows:
            return 0
        near_name = str(self.near.key)
        values = [{**row, near_name: key} for row in rows.values()]
        if self.link_model is not None:
            from .repository import Repository  # the bulk machinery, through its public API

            return await Repository(self.link_model, self.session).create_many(
                values, returning=False
            )
        await self._execute(sa.insert(self.table), values)
        return len(values)

    def _atomic(self) -> Atomic:
        return Atomic(self.session, self.backend)

    def forget(self, key: Any) -> None:
        """Keep the session honest: the parent's loaded collection, the far rows' loaded
        reverse collections and link instances of this parent no longer match the table."""
        session = self.session.sync_session
        reverse = self.prop.back_populates or (
            self.prop.backref if isinstance(self.prop.backref, str) else None
        )
        for instance in list(session.identity_map.values()):
            if isinstance(instance, self.model) and getattr(
                instance, self.parent_attribute, None
            ) == key:
                session.expire(instance, [self.prop.key])
            elif reverse and isinstance(instance, self.far_model):
                session.expire(instance, [reverse])
            elif self.link_model is not None and isinstance(instance, self.link_model):
                session.expunge(instance)


class Atomic:
    """All of one link operation, or none of it: in a savepoint when the caller's
    transaction is open (so only this is undone on a refusal), else rolled back whole.
    Driver errors come out translated."""

    def __init__(self, session: AsyncSession, backend: Backend) -> None:
        self.session = session
        self.backend = backend
        self.savepoint: AsyncSessionTransaction | None = None

    async def __aenter__(self) -> None:
        session = self.session
        if session.in_transaction():
            self.savepoint = await session.begin_nested()

    async def __aexit__(self, kind: Any, error: BaseException | None, _tb: Any) -> bool:
        session = self.session
        if error is None:
            if self.savepoint is not None:
                await self.savepoint.commit()
            return False
        if self.savepoint is not None:
            await self.savepoint.rollback()
        else:
            await session.rollback()
        if isinstance(error, sa_exc.DBAPIError):
            raise translate(error, self.backend) from error
        return False


async def links_of(
    model: type[Any], session: AsyncSession, backend: Backend, links: Mapping[str, Any]
) -> list[tuple[LinkWriter, dict[Any, dict[str, Any]]]]:
    """The writers and normalised rows of `create_with_links()`'s links, far keys checked."""
    prepared = []
    for name, given in links.items():
        writer = LinkWriter(model, name, session, backend)
        rows = writer.rows(given)
        await writer.check_far_keys(list(rows))
        prepared.append((writer, rows))
    return prepared
