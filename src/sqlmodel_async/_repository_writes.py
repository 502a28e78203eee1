"""Single-row writes of `Repository`: create, update, delete.

Writes flush (so the database's refusal arrives here, translated) but do not commit: the
scope that opened the session (`db.transaction()`, a service method) decides when.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSessionTransaction
from sqlalchemy.orm import exc as orm_exc
from sqlmodel import select

from ._repository_base import ModelT, RepositoryBase
from .errors import (
    DatabaseError,
    ForeignKeyError,
    InvalidDataError,
    NotFoundError,
    TransientError,
    translate,
)


class WriteMethods(RepositoryBase[ModelT]):
    async def create(self, data: ModelT | BaseModel | Mapping[str, Any]) -> ModelT:
        """Insert one row from a model instance, a Create schema or a mapping; the returned
        instance has its primary key. Not committed: the caller's scope commits."""
        if isinstance(data, self.model):
            instance = data
        else:
            values = data.model_dump() if isinstance(data, BaseModel) else dict(data)
            self._check_fields(values)
            instance = self._validate(values)

        async def add() -> None:
            self.session.add(instance)

        await self._write(instance, add)
        return instance

    async def update(self, key: Any, data: BaseModel | Mapping[str, Any]) -> ModelT:
        """Partial update: only the fields present in `data` change (an Update schema's
        unset fields are left alone; a field set to None becomes NULL). The primary key is
        never changed. Raises `NotFoundError` if there is no such row."""
        instance = await self.session.get(self.model, key)
        if instance is None:
            raise NotFoundError(self.model, key)
        values = (
            data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else dict(data)
        )
        self._check_fields(values)
        for column in self._primary_key:
            key_name = str(column.key)
            if key_name in values and values[key_name] != getattr(instance, key_name):
                raise InvalidDataError(
                    f"update() cannot change the primary key {key_name!r}", column=key_name
                )
            values.pop(key_name, None)
        if not isinstance(data, BaseModel):
            # A plain mapping has not been validated: validate the merged result and write
            # the validated (coerced) values, not the raw ones.
            validated = self._validate({**instance.model_dump(), **values})
            values = {name: getattr(validated, name) for name in values}

        async def change() -> None:
            instance.sqlmodel_update(values)

        await self._write(instance, change)
        return instance

    async def delete(self, key: Any) -> bool:
        """Delete the row with primary key `key`; False if there was none."""
        instance = await self.session.get(self.model, key)
        if instance is None:
            return False

        async def remove() -> None:
            await self.session.delete(instance)

        await self._write(instance, remove)
        return True

    def _validate(self, values: dict[str, Any]) -> ModelT:
        # Validated from attributes, not from the dict: SQLModel reads relationships off the
        # input with getattr(), so a relationship named `items` would get dict.items.
        return self.model.model_validate(SimpleNamespace(**values), from_attributes=True)

    def _check_fields(self, values: Mapping[str, Any]) -> None:
        unknown = sorted(set(values) - set(self._mapper.columns.keys()))
        if unknown:
            raise InvalidDataError(
                f"{self.model.__name__} has no field(s) {', '.join(unknown)}", column=unknown[0]
            )

    async def _write(self, instance: ModelT, change: Callable[[], Awaitable[None]]) -> None:
        """Apply `change` and flush it. On a refusal only this write is undone and the error
        is raised translated; the session stays usable.

        Inside a transaction that already did something, the write runs in a savepoint, so
        a caught refusal does not take the caller's earlier work with it. In a fresh
        transaction there is nothing else to lose: a plain rollback saves the round trips.
        """
        savepoint: AsyncSessionTransaction | None = None
        values: dict[str, Any] = {}
        try:
            if self.session.in_transaction():
                savepoint = await self.session.begin_nested()
            await change()
            values = {column.key: getattr(instance, column.key, None) for column in self._columns()}
            await self.session.flush()
        except orm_exc.StaleDataError as error:
            # A version column's check (or a concurrent delete) matched no row.
            await self._undo(savepoint)
            raise await self._stale(instance, error) from error
        except sa_exc.DBAPIError as error:
            await self._undo(savepoint)
            translated = await self._translated(error, values)
            if not isinstance(translated, TransientError):
                # A transient failure took the transaction (or connection) with it: there
                # is nothing to reload, and the caller retries the whole unit.
                await self._reload(instance)
            raise translated from error
        except BaseException:
            await self._undo(savepoint)
            raise
        if savepoint is not None:
            await savepoint.commit()

    async def _stale(self, instance: ModelT, error: orm_exc.StaleDataError) -> BaseException:
        """`ConcurrentUpdateError`, with `instance` re-read as the row is now (so a caller
        that decides to write again starts from the winner's version); `NotFoundError` if
        another transaction deleted the row.

        The re-read locks the row: a plain one would give back InnoDB's REPEATABLE READ
        snapshot, i.e. the stale row again."""
        identity = sa.inspect(instance).identity
        try:
            await self.session.refresh(instance, with_for_update=True)
        except sa_exc.DBAPIError as reread_error:  # e.g. a serialization failure
            return translate(reread_error, self.backend)
        except sa_exc.InvalidRequestError:
            self.session.expunge(instance)
            key = identity[0] if identity is not None and len(identity) == 1 else identity
            return NotFoundError(self.model, key)
        return translate(error, self.backend)

    async def _reload(self, instance: ModelT) -> None:
        """The rollback expired a stored row's attributes: load them again now, so reading
        them afterwards needs no hidden query (which async code cannot run)."""
        if sa.inspect(instance).persistent:
            await self.session.refresh(instance)

    async def _undo(self, savepoint: AsyncSessionTransaction | None) -> None:
        if savepoint is not None:
            await savepoint.rollback()
        else:
            await self.session.rollback()

    async def _translated(
        self, error: sa_exc.DBAPIError, values: Mapping[str, Any]
    ) -> BaseException:
        translated = translate(error, self.backend)
        if isinstance(translated, DatabaseError) and translated.column is None:
            translated.column = self._constraint_columns(translated.constraint)
        if isinstance(translated, ForeignKeyError) and translated.column is None:
            # SQLite names neither the column nor which way the reference failed.
            translated.column = await self._missing_reference(values)
            translated.missing_reference = translated.column is not None
        return translated

    def _constraint_columns(self, name: str | None) -> str | None:
        """The column(s) of the table's constraint or index called `name`, if we know it."""
        if name is None:
            return None
        table = self._mapper.local_table
        for item in [*getattr(table, "constraints", ()), *getattr(table, "indexes", ())]:
            if item.name == name:
                return ", ".join(column.key for column in item.columns)
        # MySQL names an unnamed single-column unique key after its column.
        return name if name in table.columns else None

    def _columns(self) -> builtins.list[Any]:
        return builtins.list(self._mapper.columns)

    async def _missing_reference(self, values: Mapping[str, Any]) -> str | None:
        """Which foreign-key column points at a row that does not exist (SQLite does not
        say); asked only after a foreign-key refusal."""
        for column in self._columns():
            value = values.get(column.key)
            if value is None:
                continue
            for foreign_key in column.foreign_keys:
                target = foreign_key.column
                found = await self.session.exec(
                    select(sa.literal(1)).select_from(target.table).where(target == value)
                )
                if found.first() is None:
                    return str(column.key)
        return None
