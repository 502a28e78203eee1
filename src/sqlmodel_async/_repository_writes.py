"""Writes of `Repository` that are one statement each: create, update and delete by key,
and update_where / delete_where by filter.

Each is a single INSERT / UPDATE / DELETE (... RETURNING where the backend has it), built
once per model and column set (_write_statements.py), never a read first. The database
decides: its defaults and version come back with the row, its foreign-key rules decide a
delete (RESTRICT refuses, CASCADE and SET NULL do what the schema says), whatever the ORM
relationship options. Instances already in the session are kept honest (_session_sync.py).
Nothing commits: the scope that opened the session decides when.

A refused write raises the translated error and leaves the caller's transaction usable
with its earlier work intact (_write_guard.py says how, per backend).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

from . import _session_sync as session_sync
from ._channel import Channel
from ._repository_base import Filter, ModelT, RepositoryBase
from ._row_values import insert_values, new_row_values, validated_values
from ._write_errors import translated
from ._write_guard import guarded
from ._write_statements import (
    EXPECTED_VERSION,
    ModelColumns,
    delete_statement,
    insert_statement,
    key_parameters,
    model_columns,
    select_statement,
    update_statement,
    value_bind,
)
from .errors import (
    ConcurrentUpdateError,
    InvalidDataError,
    NotFoundError,
    translate,
)

T = TypeVar("T")


class WriteMethods(RepositoryBase[ModelT]):
    async def create(self, data: ModelT | BaseModel | Mapping[str, Any]) -> ModelT:
        """Insert one row from a model instance, a Create schema or a mapping: one
        INSERT ... RETURNING. The returned instance has the database's values (key,
        server defaults, version) and is persistent in the session. Not committed."""
        meta = self._meta
        instance: ModelT | None
        if isinstance(data, self.model):
            instance = data
            if not sa.inspect(instance).transient or self._has_related(instance):
                # Already in a session, or with related instances to save along: the
                # unit of work's job.
                return await self._create_through_orm(instance)
            values = insert_values(meta, instance.__dict__)
        else:
            self._check_fields(type(data).model_fields if isinstance(data, BaseModel) else data)
            values, instance = new_row_values(self.model, meta, data)
        parameters = {value_bind(name): value for name, value in values.items()}
        await self._autoflush()

        async def insert(channel: Channel) -> Any:
            if self._returning(channel, self.backend.insert_returning, "insert_returning"):
                written = insert_statement(meta, tuple(values), True)
                return (await channel.rows(written, parameters))[0]
            written = insert_statement(meta, tuple(values), False)
            key = self._key_parameters(await channel.inserted_key(written, parameters))
            return (await channel.rows(select_statement(meta, False), key))[0]

        row = await self._guarded(insert, values)
        if instance is None:  # made as the ORM makes an instance it loads, from the row
            instance = self._mapper.class_manager.new_instance()
        return session_sync.attach(self.session, meta, instance, row)  # type: ignore[no-any-return]

    async def update(self, key: Any, data: BaseModel | Mapping[str, Any]) -> ModelT:
        """Partial update: only the fields present in `data` change (an Update schema's
        unset fields are left alone; a field set to None becomes NULL). One UPDATE ...
        RETURNING, no read first. The primary key is never changed.

        A model with a version column is checked against the version the caller knows:
        `data`'s `version` if given, else that of the instance in the session; a row that
        moved on raises `ConcurrentUpdateError`. No such row: `NotFoundError`."""
        meta = self._meta
        values = (
            data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else dict(data)
        )
        self._check_fields(values)
        key_values = self._key.values(key)
        for name, value in zip(meta.key_names, key_values, strict=True):
            if name in values and values.pop(name) != value:
                raise InvalidDataError(
                    f"update() cannot change the primary key {name!r}", column=name
                )
        expected = values.pop(meta.version_name, None) if meta.version_name else None
        if not isinstance(data, BaseModel):
            values = validated_values(self.model, values)
        await self._autoflush()
        existing = session_sync.in_session(self.session, meta, key_values)
        if expected is None and meta.version_name and existing is not None:
            expected = session_sync.loaded(existing, meta.version_name)
        keys = self._key_parameters(key_values)
        if not values:  # nothing to set: the row as it is
            return await self._row_or_not_found(keys, key_values, existing)
        names = tuple(values)
        parameters = {**keys, **{value_bind(name): values[name] for name in names}}
        if expected is not None:
            parameters[EXPECTED_VERSION] = expected

        async def change(channel: Channel) -> Any:
            returning = self._returning(channel, self.backend.update_returning, "update_returning")
            written = update_statement(meta, names, expected is not None, returning)
            if returning:
                rows = await channel.rows(written, parameters)
                if rows:
                    return rows[0]
            elif await channel.count(written, parameters):
                return (await channel.rows(select_statement(meta, False), keys))[0]
            return await self._no_row(channel, keys, key_values, expected, existing)

        row = await self._guarded(change, values)
        if isinstance(row, BaseException):
            raise row
        return self._with_row(row, existing)

    async def delete(self, key: Any) -> bool:
        """Delete the row with primary key `key`: one DELETE; False if there was none.

        The database's foreign-key rules decide: a row still referenced under RESTRICT /
        NO ACTION raises `ForeignKeyError` (nothing changed); CASCADE and SET NULL do what
        the schema says. A model with a version column is checked against the version of
        the instance in the session, if there is one (`ConcurrentUpdateError`)."""
        meta = self._meta
        key_values = self._key.values(key)
        await self._autoflush()
        existing = session_sync.in_session(self.session, meta, key_values)
        expected = None
        if meta.version_name and existing is not None:
            expected = session_sync.loaded(existing, meta.version_name)
        keys = self._key_parameters(key_values)
        parameters = keys if expected is None else {**keys, EXPECTED_VERSION: expected}

        async def remove(channel: Channel) -> bool | BaseException:
            if await channel.count(delete_statement(meta, expected is not None), parameters):
                return True
            if expected is None:
                return False
            found = await self._no_row(channel, keys, key_values, expected, existing)
            return False if isinstance(found, NotFoundError) else found

        deleted = await self._guarded(remove, {}, deleting=True)
        if isinstance(deleted, BaseException):
            raise deleted
        if deleted:
            session_sync.forget_deleted(self.session, self._mapper, key_values)
        elif existing is not None:
            self.session.expunge(existing)
        return deleted

    async def update_where(
        self,
        values: BaseModel | Mapping[str, Any],
        *filters: Filter,
        all: bool = False,
        **equals: Any,
    ) -> int:
        """Set `values` on every row matching `filters` and `equals`, in one UPDATE;
        returns the number of rows matched. The version column is bumped. An empty
        filter is refused unless `all=True`. Instances in the session have the changed
        attributes expired."""
        meta = self._meta
        given = (
            values.model_dump(exclude_unset=True) if isinstance(values, BaseModel)
            else dict(values)
        )
        if not given:
            raise InvalidDataError("update_where() needs at least one value to set")
        self._check_fields(given)
        for name in (*meta.key_names, meta.version_name):
            if name in given:
                raise InvalidDataError(
                    f"update_where() cannot set {name!r}: the primary key and the version "
                    "are not set by filter", column=name,
                )
        validated = validated_values(self.model, given)
        clauses = self._clauses("update_where", filters, equals, all)
        setting: dict[Any, Any] = {meta.column(name): value for name, value in validated.items()}
        if meta.version_name is not None and meta.version_bumped:
            version = meta.column(meta.version_name)
            setting[version] = version + 1
        statement = sa.update(meta.table).where(*clauses).values(setting)
        await self._autoflush()

        async def change(channel: Channel) -> int:
            result = await channel.execute(statement)
            return int(result.rowcount)

        count = await self._guarded(change, validated)
        expired = [*validated, *([meta.version_name] if meta.version_name else [])]
        session_sync.expire_model(self.session, self._mapper, expired)
        return count

    async def delete_where(self, *filters: Filter, all: bool = False, **equals: Any) -> int:
        """Delete every row matching `filters` and `equals`, in one DELETE; returns the
        number deleted. The foreign-key rules decide, as for `delete()`. An empty filter
        is refused unless `all=True`."""
        meta = self._meta
        clauses = self._clauses("delete_where", filters, equals, all)
        statement: Any = sa.delete(meta.table).where(*clauses)
        await self._autoflush()

        async def remove(channel: Channel) -> builtins.list[tuple[Any, ...]] | int:
            if channel.dialect.delete_returning:
                result = await channel.execute(statement.returning(*meta.key_columns))
                return [tuple(row) for row in result.all()]
            return int((await channel.execute(statement)).rowcount)

        deleted = await self._guarded(remove, {}, deleting=True)
        if isinstance(deleted, int):  # keys unknown: every instance of the model may be gone
            session_sync.expire_model(self.session, self._mapper, meta.names)
            return deleted
        for key in deleted:
            session_sync.forget_deleted(self.session, self._mapper, key)
        return len(deleted)

    # --- helpers -----------------------------------------------------------------------

    @property
    def _meta(self) -> ModelColumns:
        return model_columns(self._mapper)

    def _clauses(
        self, method: str, filters: tuple[Filter, ...], equals: Mapping[str, Any], every: bool
    ) -> builtins.list[Any]:
        clauses = [*filters, *self._equals(equals)]
        if not clauses and not every:
            raise InvalidDataError(
                f"{method}() without a filter would write every row of "
                f"{self.model.__name__}: pass all=True if that is meant"
            )
        return clauses

    def _key_parameters(self, key: tuple[Any, ...]) -> dict[str, Any]:
        return key_parameters(self._meta, key)

    @staticmethod
    def _returning(channel: Channel, backend_has: bool, dialect_flag: str) -> bool:
        return backend_has and bool(getattr(channel.dialect, dialect_flag, False))

    def _has_related(self, instance: ModelT) -> bool:
        state = sa.inspect(instance)
        return any(
            state.dict.get(rel.key) not in (None, []) for rel in self._mapper.relationships
        )

    async def _create_through_orm(self, instance: ModelT) -> ModelT:
        self.session.add(instance)
        try:
            await self.session.flush()
        except sa_exc.DBAPIError as error:
            meta, backend = self._meta, self.backend
            found = await translated(self.session, meta, backend, error, {}, deleting=False)
            raise found from error
        return instance

    async def _autoflush(self) -> None:
        """Pending ORM changes reach the database before the statement (autoflush)."""
        session = self.session
        if session.sync_session.autoflush and (session.new or session.deleted or session.dirty):
            try:
                await session.flush()
            except (sa_exc.DBAPIError, orm_exc.StaleDataError) as error:
                raise translate(error, self.backend) from error

    async def _guarded(
        self,
        work: Callable[[Channel], Awaitable[T]],
        values: Mapping[str, Any],
        *,
        deleting: bool = False,
    ) -> T:
        return await guarded(
            self.session, self.backend, self._meta, work, values, deleting=deleting
        )

    async def _no_row(
        self,
        channel: Channel,
        keys: Mapping[str, Any],
        key: tuple[Any, ...],
        expected: Any,
        existing: Any,
    ) -> BaseException:
        """Why a write by key matched no row: the row is gone (`NotFoundError`), or its
        version moved on (`ConcurrentUpdateError`; the instance in the session gets the
        row as it is now, so a caller that writes again starts from the winner's)."""
        identity = key if self._key.composite else key[0]
        rows = (
            await channel.rows(select_statement(self._meta, True), keys)
            if expected is not None
            else []
        )
        if not rows:
            if existing is not None:
                self.session.expunge(existing)
            return NotFoundError(self.model, identity)
        if existing is not None:
            session_sync.sync(existing, self._meta, rows[0])
        return ConcurrentUpdateError(
            f"concurrent update: {self.model.__name__} {identity!r} is no longer at "
            f"version {expected!r}",
            detail="the row was changed by another request since it was read: read it again",
        )

    async def _row_or_not_found(
        self, keys: dict[str, Any], key: tuple[Any, ...], existing: Any
    ) -> ModelT:
        async def read(channel: Channel) -> Any:
            rows = await channel.rows(select_statement(self._meta, False), keys)
            if not rows:
                return NotFoundError(self.model, key if self._key.composite else key[0])
            return rows[0]

        row = await self._guarded(read, {})
        if isinstance(row, BaseException):
            raise row
        return self._with_row(row, existing)

    def _with_row(self, row: Any, existing: Any) -> ModelT:
        """The session's instance of the row, with the row's values; a new persistent one
        when the session has none."""
        meta = self._meta
        if existing is not None:
            session_sync.sync(existing, meta, row)
            return existing  # type: ignore[no-any-return]
        # Made as the ORM makes an instance it loads (no __init__, no validation: these
        # are the database's values), then given the row.
        instance = self._mapper.class_manager.new_instance()
        return session_sync.attach(self.session, meta, instance, row)  # type: ignore[no-any-return]

    def _check_fields(self, values: Iterable[str]) -> None:
        unknown = sorted(set(values) - set(self._mapper.columns.keys()))
        if unknown:
            raise InvalidDataError(
                f"{self.model.__name__} has no field(s) {', '.join(unknown)}", column=unknown[0]
            )
