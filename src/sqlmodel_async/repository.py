"""`Repository[Model]`: reads and single-row writes on one session.

Writes flush (so the database's refusal arrives here, translated) but do not commit: the
scope that opened the session (`db.transaction()`, a service method) decides when.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, Generic, Literal, TypeVar, overload

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSessionTransaction
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import exc as orm_exc
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from .bulk import BulkWriter
from .dialects import BACKEND_INFO_KEY, Backend, backend_for
from .errors import (
    DatabaseError,
    ForeignKeyError,
    InvalidDataError,
    NotFoundError,
    TransientError,
    translate,
)
from .keyset import Keyset
from .loading import Loadable, loader_options
from .pagination import (
    MAX_PAGE_SIZE,
    CursorCodec,
    CursorPage,
    Page,
    codec_for,
    cursor_page,
    offset_page,
)
from .projection import SessionRows, projection_for
from .query import equals_clauses, ordering
from .streaming import stream_instances, stream_rows

ModelT = TypeVar("ModelT", bound=SQLModel)
#: A response schema that `as_=` builds instead of model instances (projection.py).
SchemaT = TypeVar("SchemaT", bound=BaseModel)

#: A WHERE condition such as `Hero.age > 30` (a plain bool to type checkers under SQLModel).
Filter = Any
#: An ORDER BY item such as `Hero.name` or `Hero.name.desc()`.
Order = Any


class Repository(Generic[ModelT]):
    """Typed reads and writes of one table model through one session.

    >>> heroes = Repository(Hero, session)
    >>> await heroes.get(1, load=[Hero.team])
    >>> await heroes.list(Hero.age > 30, order_by=[Hero.name], limit=10)
    """

    def __init__(self, model: type[ModelT], session: AsyncSession) -> None:
        self.model = model
        self.session = session
        mapper: Mapper[Any] = sa.inspect(model)
        self._mapper = mapper
        self._primary_key = mapper.primary_key

    @property
    def backend(self) -> Backend:
        """The session's Backend: the Database's own (with run-time limits) when the session
        came from one, else the defaults for its dialect."""
        backend = self.session.info.get(BACKEND_INFO_KEY)
        if isinstance(backend, Backend):
            return backend
        return backend_for(self.session.get_bind().dialect.name)

    @property
    def primary_key(self) -> Any:
        """The single primary-key column (composite keys are not supported by key lookups)."""
        if len(self._primary_key) != 1:
            raise TypeError(f"{self.model.__name__} has a composite primary key")
        return getattr(self.model, str(self._primary_key[0].key))

    # --- reads --------------------------------------------------------------------------

    @overload
    async def get(
        self, key: Any, *, load: Iterable[Loadable] = (), lock: bool = False
    ) -> ModelT | None: ...

    @overload
    async def get(self, key: Any, *, as_: type[SchemaT]) -> SchemaT | None: ...

    async def get(
        self,
        key: Any,
        *,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        lock: bool = False,
    ) -> Any:
        """The row with primary key `key`, or None.

        With `load=`, the relationships are loaded even if the object was already in the
        session (plain `session.get(..., options=...)` ignores options for such objects).
        `lock=True` reads it fresh with SELECT ... FOR UPDATE: concurrent transactions that
        lock the same row wait for this one to end (read-modify-write without lost updates;
        SQLite has no row locks, its write transactions are serialised whole).
        With `as_=Schema`, a `Schema` instance read straight from the row (projection.py):
        only its columns are selected and its relationships read with it.
        """
        if as_ is not None:
            return await self._projected_get(key, load, as_)
        options = loader_options(load)
        instance: ModelT | None = await self.session.get(
            self.model,
            key,
            options=options,
            populate_existing=bool(options) or lock,
            with_for_update=lock or None,
        )
        return instance

    @overload
    async def get_one(
        self, key: Any, *, load: Iterable[Loadable] = (), lock: bool = False
    ) -> ModelT: ...

    @overload
    async def get_one(self, key: Any, *, as_: type[SchemaT]) -> SchemaT: ...

    async def get_one(
        self,
        key: Any,
        *,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        lock: bool = False,
    ) -> Any:
        """The row with primary key `key`; raises `NotFoundError` if there is none."""
        instance = await (
            self.get(key, load=load, lock=lock)
            if as_ is None
            else self._projected_get(key, load, as_)
        )
        if instance is None:
            raise NotFoundError(self.model, key)
        return instance

    async def get_many(
        self, keys: Sequence[Any], *, load: Iterable[Loadable] = (), missing: str = "raise"
    ) -> builtins.list[ModelT]:
        """The rows for `keys`, in the order of `keys`, in one round trip.

        `missing="raise"` raises `NotFoundError` whose `.missing` lists the absent keys;
        `missing="skip"` leaves them out.
        """
        if missing not in ("raise", "skip"):
            raise ValueError("missing= must be 'raise' or 'skip'")
        column = self.primary_key
        options = loader_options(load)
        found: dict[Any, ModelT] = {}
        for clause in self.backend.membership(column, list(dict.fromkeys(keys))):
            statement = select(self.model).where(clause).options(*options)
            if options:
                statement = statement.execution_options(populate_existing=True)
            for instance in (await self.session.exec(statement)).unique():
                found[getattr(instance, column.key)] = instance
        absent = [key for key in keys if key not in found]
        if absent and missing == "raise":
            raise NotFoundError(self.model, missing=absent)
        return [found[key] for key in keys if key in found]

    # `as_=` first: `**equals` would otherwise take it, and the instance overload
    # would win (list[Hero] for list(as_=HeroPublic)).
    @overload
    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        as_: type[SchemaT],
        **equals: Any,
    ) -> builtins.list[SchemaT]: ...

    @overload
    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> builtins.list[ModelT]: ...

    async def list(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        offset: int = 0,
        limit: int | None = None,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        **equals: Any,
    ) -> builtins.list[Any]:
        """Rows matching `filters` and `equals`, ordered by `order_by` (default: the primary
        key, so pages are stable). `as_=Schema`: `Schema` instances (see `get()`)."""
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        if as_ is not None and not (filters or order_by or equals):
            self._no_load(load)
            return await projection_for(self.model, as_).listing_all(self._rows(), offset, limit)
        statement: Any = (
            self.select(*filters, order_by=order_by, load=load, **equals)
            if as_ is None
            else self._projected_select(as_, load, filters, order_by, equals)
        )
        if offset:
            statement = statement.offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        if as_ is not None:
            return await projection_for(self.model, as_).all(self._rows(), statement)
        return builtins.list((await self.session.exec(statement)).unique().all())

    @overload
    async def first(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        as_: type[SchemaT],
        **equals: Any,
    ) -> SchemaT | None: ...

    @overload
    async def first(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> ModelT | None: ...

    async def first(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
        **equals: Any,
    ) -> Any:
        """The first row matching, in `order_by` order (default: primary key), or None."""
        if as_ is not None:
            found = await self.list(
                *filters, order_by=order_by, limit=1, load=load, as_=as_, **equals
            )
            return found[0] if found else None
        statement = self.select(*filters, order_by=order_by, load=load, **equals).limit(1)
        return (await self.session.exec(statement)).unique().first()

    # --- projected reads (as_=Schema): projection.py ---------------------------------------

    async def _projected_get(
        self, key: Any, load: Iterable[Loadable], schema: type[SchemaT]
    ) -> SchemaT | None:
        self._no_load(load)
        found: SchemaT | None = await projection_for(self.model, schema).get(self._rows(), key)
        return found

    def _projected_select(
        self,
        schema: type[BaseModel],
        load: Iterable[Loadable],
        filters: Sequence[Filter],
        order_by: Sequence[Order] | None,
        equals: Mapping[str, Any],
    ) -> Any:
        self._no_load(load)
        statement = projection_for(self.model, schema).select()
        return statement.where(*filters, *self._equals(equals)).order_by(
            *self.ordering(order_by)
        )

    def _rows(self) -> SessionRows:
        return SessionRows(self.session, self.backend)

    @staticmethod
    def _no_load(load: Iterable[Loadable]) -> None:
        if load:
            raise TypeError("as_= reads what the schema names: load= does not apply to it")

    async def count(self, *filters: Filter, **equals: Any) -> int:
        statement = (
            select(sa.func.count())
            .select_from(self.model)
            .where(*filters, *self._equals(equals))
        )
        return int((await self.session.exec(statement)).one())

    async def exists(self, *filters: Filter, **equals: Any) -> bool:
        statement = select(sa.exists().where(*filters, *self._equals(equals)))
        return bool((await self.session.exec(statement)).one())

    def select(
        self,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        load: Iterable[Loadable] = (),
        **equals: Any,
    ) -> SelectOfScalar[ModelT]:
        """The SELECT that `list()` runs, for callers that add to it."""
        statement = select(self.model).where(*filters, *self._equals(equals))
        statement = statement.order_by(*self.ordering(order_by))
        options = loader_options(load)
        return statement.options(*options) if options else statement

    def ordering(self, order_by: Sequence[Order] | None) -> builtins.list[Any]:
        """`order_by`, or the primary key when none is given."""
        return ordering(self.model, order_by)

    def _equals(self, equals: Mapping[str, Any]) -> builtins.list[Any]:
        return equals_clauses(self.model, equals)

    # --- single-row writes ---------------------------------------------------------------

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
        instance = await self.get_one(key)
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
        instance = await self.get(key)
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

    # --- bulk writes: create_many, update_many, upsert_many, delete_many (bulk.py) -------
    # All in the caller's transaction (nothing commits); a refused chunk raises the
    # translated DatabaseError and the caller's rollback undoes the whole call.

    @overload
    async def create_many(
        self, rows: Iterable[ModelT | BaseModel | Mapping[str, Any]], *,
        returning: Literal[True] = ...,
    ) -> builtins.list[ModelT]: ...

    @overload
    async def create_many(
        self, rows: Iterable[ModelT | BaseModel | Mapping[str, Any]], *, returning: Literal[False]
    ) -> int: ...

    async def create_many(
        self, rows: Iterable[ModelT | BaseModel | Mapping[str, Any]], *, returning: bool = True
    ) -> builtins.list[ModelT] | int:
        """Insert `rows` (instances, mappings or Create schemas; any iterable, read chunk by
        chunk) with the defaults the ORM would apply. `returning=True`: the instances with
        their primary keys, in input order (not added to the session: `session.merge()`
        one to change it). `returning=False`: the count, by the fastest path (COPY)."""
        return await self._bulk().create_many(rows, returning=returning)

    async def update_many(self, rows: Iterable[BaseModel | Mapping[str, Any]]) -> int:
        """Update rows by primary key: each mapping holds the key and the fields to set
        (rows may set different fields). One statement per chunk; returns the number of
        rows found. A key given twice: the last row wins."""
        return await self._bulk().update_many(rows)

    async def upsert_many(
        self,
        rows: Iterable[ModelT | BaseModel | Mapping[str, Any]],
        *,
        conflict: Sequence[Any],
        update: Sequence[Any] | None = None,
    ) -> int:
        """Insert `rows`, or update those whose `conflict` columns (the primary key or a
        unique key, else `InvalidDataError`) match a row: `update=` columns, by default the
        fields each row gives; `update=[]` leaves existing rows alone. In-batch duplicates:
        the last wins. Returns the number of rows written (after de-duplication).
        MariaDB/MySQL have no conflict target: a collision on any unique key updates."""
        return await self._bulk().upsert_many(rows, conflict, update)

    async def delete_many(self, keys: Iterable[Any]) -> int:
        """Delete the rows with these primary keys (any number: PostgreSQL binds one array,
        the others are chunked under the parameter limit); returns the number deleted."""
        return await self._bulk().delete_many(keys)

    def _bulk(self) -> BulkWriter[ModelT]:
        return BulkWriter(self.model, self.session, self.backend)

    # --- pagination and streaming: paginate, paginate_cursor, stream (pagination.py,
    # --- streaming.py) -------------------------------------------------------------------

    # The overloads give `Page[Hero]` / `Page[Schema]` to type checkers, not `Page[Any]`.
    @overload
    async def paginate(
        self,
        page: int = 1,
        size: int = 50,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
    ) -> Page[ModelT]: ...

    @overload
    async def paginate(
        self,
        page: int = 1,
        size: int = 50,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[SchemaT],
    ) -> Page[SchemaT]: ...

    async def paginate(
        self,
        page: int = 1,
        size: int = 50,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        include_total: bool = True,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
    ) -> Page[Any]:
        """Page `page` (from 1) of `size` rows, ordered by `order_by` plus the primary key
        (so equal values never swap between pages). `total`/`pages` come from a COUNT;
        `include_total=False` skips it (they are None). Bad `page`/`size` raise
        `InvalidPageError`. `as_=Schema`: items are `Schema` instances (see `get()`)."""
        keyset = Keyset(self.model, order_by)
        count = select(sa.func.count()).select_from(self.model).where(*filters)
        if as_ is not None:
            projection = projection_for(self.model, as_)
            statement: Any = self._projected_select(as_, load, filters, keyset.order_by(), {})
            return await offset_page(
                self.session, statement, count, page=page, size=size,
                include_total=include_total, max_size=max_size,
                fetch=lambda query: projection.all(self._rows(), query),
            )
        statement = self.select(*filters, order_by=keyset.order_by(), load=load)
        return await offset_page(
            self.session, statement, count, page=page, size=size,
            include_total=include_total, max_size=max_size,
        )

    @overload
    async def paginate_cursor(
        self,
        limit: int = 50,
        *filters: Filter,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
    ) -> CursorPage[ModelT]: ...

    @overload
    async def paginate_cursor(
        self,
        limit: int = 50,
        *filters: Filter,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[SchemaT],
    ) -> CursorPage[SchemaT]: ...

    async def paginate_cursor(
        self,
        limit: int = 50,
        *filters: Filter,
        after: str | None = None,
        order_by: Sequence[Order] | None = None,
        secret: str | bytes | CursorCodec | None = None,
        max_size: int = MAX_PAGE_SIZE,
        load: Iterable[Loadable] = (),
        as_: type[BaseModel] | None = None,
    ) -> CursorPage[Any]:
        """Up to `limit` rows after the cursor `after` (None: from the start), in keyset
        order: `order_by` columns (asc, desc or mixed) plus the primary key.

        The cursor is signed with `secret` (or a `CursorCodec`; default: the
        `SQLMODEL_ASYNC_CURSOR_SECRET` variable). A tampered cursor, or one for another
        model, order or secret, raises `InvalidCursorError`. `as_=Schema`: items are
        `Schema` instances (see `get()`)."""
        keyset = Keyset(self.model, order_by)
        if as_ is not None:
            self._no_load(load)
            projection = projection_for(self.model, as_)
            statement = projection.select(*[c.column for c in keyset.columns]).where(*filters)
            return await cursor_page(
                self.session, statement, keyset,
                limit=limit, after=after, codec=codec_for(secret), backend=self.backend,
                max_size=max_size, fetch=lambda query: projection.page(self._rows(), query),
            )
        return await cursor_page(
            self.session, self.select(*filters, load=load), keyset, limit=limit,
            after=after, codec=codec_for(secret), backend=self.backend, max_size=max_size,
        )

    @overload
    def stream(
        self, batch_size: int = 1000, *filters: Filter, order_by: Sequence[Order] | None = None
    ) -> AsyncIterator[ModelT]: ...

    @overload
    def stream(
        self,
        batch_size: int = 1000,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        as_: type[SchemaT],
    ) -> AsyncIterator[SchemaT]: ...

    def stream(
        self,
        batch_size: int = 1000,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        as_: type[BaseModel] | None = None,
    ) -> AsyncIterator[Any]:
        """Every matching row once, in `order_by` + primary-key order, read `batch_size`
        rows at a time. The instances are detached (the session does not keep them): save
        changes through another session. Relationships are not loaded, except with
        `as_=Schema`: `Schema` instances with what the schema names (see `get()`)."""
        if as_ is not None:
            return projection_for(self.model, as_).stream(
                self._rows(), Keyset(self.model, order_by), filters,
                batch_size=batch_size, backend=self.backend,
            )
        return stream_instances(
            self.session, Keyset(self.model, order_by), filters,
            batch_size=batch_size, backend=self.backend,
        )

    def stream_rows(
        self,
        batch_size: int = 1000,
        *filters: Filter,
        order_by: Sequence[Order] | None = None,
        columns: Sequence[str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Like `stream()`, as plain dicts of `columns` (default: all): for exports."""
        return stream_rows(
            self.session, Keyset(self.model, order_by), filters,
            batch_size=batch_size, backend=self.backend, columns=columns,
        )
