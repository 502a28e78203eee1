"""Schema-driven reads: the response schema decides what is selected, and its instances are
built straight from rows, with no ORM instance and no identity map in between.

>>> await Repository(Hero, session).project(HeroPublicWithTeam).get(1)
>>> await reader.project(Team, TeamPublicWithHeroes).list(limit=10)

A schema field is either a column of the model (same name) or a relationship of it whose
type is another schema, nested as deep as the schema goes: a many-to-one
(`team: TeamPublic | None`) is LEFT JOINed into the same statement when its schema holds
only columns; every other relationship (collections, many-to-many through a `link_model`,
the link rows themselves with their extra columns, self-referential parents and children)
is read by one more keyed query per relationship level for all parents at once (`IN` /
PostgreSQL `= ANY`), collections in the relationship's `order_by` (else the far side's
primary key) order (_projection_plan.py, _projection_related.py). Any other field is a
`TypeError` naming the schema and the field, when the projection is planned:
`plan_projections()` plans a list of them at start-up.

The plan (columns, joins, statements, how to build) is made once per (model, schema) and
cached; SQLAlchemy caches the compiled SQL of the plan's statements in turn.

Rows come from a `RowSource`: a session (`SessionRows`: its transaction, its pending
writes flushed first) or a `Reader` (reader.py: a pooled connection, no session).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Mapper
from sqlmodel.ext.asyncio.session import AsyncSession

from ._projection_build import (
    as_is,
    constructor,
    flat_builder,
    joined_dicts_builder,
    needs_validation,
    values_at,
)
from ._projection_plan import Joined, plan_relationship
from ._projection_related import Related
from .dialects import BACKEND_INFO_KEY, Backend, backend_for
from .keyset import Keyset
from .schema_json import JsonSerializer, json_serializer

SchemaT = TypeVar("SchemaT", bound=BaseModel)

class RowSource(Protocol):
    """Where a projection's rows come from: a session (`SessionRows`) or a `Reader`."""

    backend: Backend

    async def fetch(
        self, statement: Any, parameters: dict[str, Any] | None = None, *, reusable: bool = False
    ) -> Sequence[Any]:
        """The rows of `statement`. `reusable=True`: the projection keeps this statement
        object and runs it again with other parameters (worth preparing once)."""
        ...


class SessionRows:
    """A session as a `RowSource`: its connection, its transaction."""

    __slots__ = ("backend", "session")

    def __init__(self, session: AsyncSession, backend: Backend | None = None) -> None:
        self.session = session
        self.backend = backend if backend is not None else _backend(session)

    async def fetch(
        self, statement: Any, parameters: dict[str, Any] | None = None, *, reusable: bool = False
    ) -> Sequence[Any]:
        return await fetch_rows(self.session, statement, parameters)


class Projection(Generic[SchemaT]):
    """How to read `schema` instances from `model`'s table. Use `projection_for()`, which
    caches one per (model, schema)."""

    def __init__(self, model: type[Any], schema: type[SchemaT], *, plan: bool = True) -> None:
        mapper: Mapper[Any] = sa.inspect(model)
        self.model = model
        self.schema = schema
        self.mapper = mapper
        self.table: sa.Table = mapper.local_table  # type: ignore[assignment]
        self.selected: list[Any] = []
        self._from: Any = self.table
        #: The tables in the FROM clause (a many-to-one joins each table once).
        self.tables: set[Any] = {self.table}
        self.own: list[tuple[str, int]] = []
        self.joined: list[Joined] = []
        self.related: list[Related] = []
        self.fields: tuple[str, ...] = ()
        self.width = 0
        #: False until the fields are planned (a recursive schema meets itself meanwhile).
        self.planned = False
        self._plain: bool | None = None
        self._get: Any = None
        self._listings: dict[tuple[bool, bool], Any] = {}
        if plan:
            self._plan()

    # --- planning ---------------------------------------------------------------------

    def _plan(self) -> None:
        mapper, schema = self.mapper, self.schema
        for name, info in schema.model_fields.items():
            if name in mapper.column_attrs:
                self.own.append((name, self.select_position(mapper.column_attrs[name].columns[0])))
            elif name in mapper.relationships:
                planned = plan_relationship(
                    self, name, mapper.relationships[name], info.annotation, projection_for
                )
                (self.joined if isinstance(planned, Joined) else self.related).append(
                    planned  # type: ignore[arg-type]
                )
            else:
                raise TypeError(
                    f"{schema.__name__}.{name} is neither a column nor a relationship of "
                    f"{self.model.__name__}: a projection can only read what the table holds"
                )
        self.fields = tuple(name for name, _ in self.own)
        self._own_values = values_at(tuple(position for _, position in self.own))
        built = [*self.fields, *(j.name for j in self.joined), *(r.name for r in self.related)]
        # Instances keep their fields in the schema's order (it is the JSON's key order).
        self._order = None if built == list(schema.model_fields) else tuple(schema.model_fields)
        self.width = len(self.selected)
        self._validate = needs_validation(schema, mapper)
        self.construct = constructor(schema, self._validate)
        flat = not (self._validate or self.joined or self.related or self._order is not None)
        #: For a schema of columns only: the generated (instances, dicts) builders.
        self._flat = (
            (flat_builder(schema, self.own, plain=False),
             flat_builder(schema, self.own, plain=True))
            if flat else None
        )
        #: For columns and joined many-to-one fields only: the generated dicts builder.
        self._joined_dicts = (
            joined_dicts_builder(self.own, self.joined, self._order or built)
            if self.joined and not self.related else None
        )
        self.planned = True

    def select_position(self, column: Any) -> int:
        """The position of `column` in the SELECT list, adding it once."""
        for position, selected in enumerate(self.selected):
            if selected is column:
                return position
        self.selected.append(column)
        return len(self.selected) - 1

    def join(self, table: Any, onclause: Any) -> None:
        """LEFT JOIN `table` into the statement (a many-to-one's target)."""
        self._from = self._from.outerjoin(table, onclause)
        self.tables.add(table)

    @property
    def plain(self) -> bool:
        """Whether every value is read as the schema holds it, nested schemas included: then
        `build(plain=True)` dicts are the instances' fields (schema_json.py writes them)."""
        if self._plain is None:
            self._plain = self._plain_with(set())
        return self._plain

    def _plain_with(self, seen: set[int]) -> bool:
        if id(self) in seen:
            return True  # a recursive schema: decided by the rest of the cycle
        seen.add(id(self))
        return (
            not self._validate
            and all(join.plain for join in self.joined)
            and all(related.child._plain_with(seen) for related in self.related)
        )

    # --- statements -------------------------------------------------------------------

    def select(self, *extra: Any, join: tuple[Any, Any] | None = None) -> sa.Select[Any]:
        """SELECT of the schema's columns (and joins), `extra` columns last (build ignores
        them): the caller adds WHERE, ORDER BY, LIMIT. `join`: a (table, ON clause) added
        to the FROM clause (a many-to-many's link table)."""
        source = self._from if join is None else self._from.join(*join)
        return sa.select(*self.selected, *extra).select_from(source)

    @property
    def get_statement(self) -> sa.Select[Any]:
        """By primary key (bind parameter `pk`); built once."""
        if self._get is None:
            if len(self.mapper.primary_key) != 1:
                raise TypeError(f"{self.model.__name__} has a composite primary key")
            pk = self.mapper.primary_key[0]
            self._get = self.select().where(pk == sa.bindparam("pk", type_=pk.type))
        statement: sa.Select[Any] = self._get
        return statement

    # --- building ---------------------------------------------------------------------

    async def build(
        self, source: RowSource, rows: Sequence[Any], *, plain: bool = False, depth: int = 0
    ) -> list[Any]:
        """Schema instances from `rows` of `select()`, relationships read now (one query
        per relationship field and level, whatever the number of rows). `plain` (where
        `self.plain`): the instances' field dicts instead, nested schemas as dicts too."""
        if self._flat is not None:
            return self._flat[plain](rows)
        found = [
            await related.load(source, rows, plain=plain, depth=depth) for related in self.related
        ]
        construct = as_is if plain else self.construct
        fields = self.fields
        own = self._own_values
        joined = self.joined
        if plain and self._joined_dicts is not None:
            return self._joined_dicts(rows)
        if not joined and not found and self._order is None:
            return [construct(dict(zip(fields, own(row), strict=True))) for row in rows]
        built: list[Any] = []
        for row in rows:
            values = dict(zip(fields, own(row), strict=True))
            for join in joined:
                if all(row[position] is None for position in join.key_positions):
                    values[join.name] = None
                else:
                    nested = dict(zip(join.fields, [row[p] for p in join.positions], strict=True))
                    values[join.name] = nested if plain else join.build(nested)
            for related, items in zip(self.related, found, strict=True):
                values[related.name] = related.value(items, row)
            if self._order is not None:
                values = {name: values[name] for name in self._order}
            built.append(construct(values))
        return built

    def json_serializer(self, *, many: bool) -> JsonSerializer:
        """How to write this schema's JSON; `build(plain=serializer.plain)` gives what
        it takes."""
        return json_serializer(self.schema, many=many, dicts=self.plain)

    # --- reads ------------------------------------------------------------------------

    async def get(self, source: RowSource, key: Any, *, plain: bool = False) -> Any:
        """The instance (`plain`: the dict) of the row with primary key `key`, or None."""
        rows = await source.fetch(self.get_statement, {"pk": key}, reusable=True)
        return (await self.build(source, rows, plain=plain))[0] if rows else None

    async def all(
        self,
        source: RowSource,
        statement: Any,
        parameters: dict[str, Any] | None = None,
        *,
        reusable: bool = False,
        plain: bool = False,
    ) -> list[Any]:
        rows = await source.fetch(statement, parameters, reusable=reusable)
        return await self.build(source, rows, plain=plain)

    async def listing_all(
        self, source: RowSource, offset: int, limit: int | None, *, plain: bool = False
    ) -> list[Any]:
        """Every row in primary-key order, OFFSET/LIMIT applied (the statement is kept)."""
        statement, parameters = self.listing(offset, limit)
        return await self.all(source, statement, parameters, reusable=True, plain=plain)

    def listing(self, offset: int, limit: int | None) -> tuple[Any, dict[str, Any]]:
        """The unfiltered SELECT in primary-key order with OFFSET/LIMIT as bound parameters,
        and its parameters. Built once per shape: a statement built per request costs its
        construction and its cache key, a good part of a short list's time in SQLAlchemy,
        before the query is even sent."""
        shape = (offset > 0, limit is not None)
        statement = self._listings.get(shape)
        if statement is None:
            statement = self.select().order_by(*self.mapper.primary_key)
            if offset:
                statement = statement.offset(sa.bindparam("offset", type_=sa.Integer))
            if limit is not None:
                statement = statement.limit(sa.bindparam("limit", type_=sa.Integer))
            self._listings[shape] = statement
        parameters: dict[str, Any] = {}
        if offset:
            parameters["offset"] = offset
        if limit is not None:
            parameters["limit"] = limit
        return statement, parameters

    async def page(
        self, source: RowSource, statement: Any
    ) -> tuple[list[SchemaT], list[list[Any]]]:
        """The instances of a `select(*key_columns)` statement and, for each, the values of
        the extra columns (a cursor page's keyset values)."""
        rows = await source.fetch(statement)
        width = self.width
        return await self.build(source, rows), [list(row[width:]) for row in rows]

    def stream(
        self,
        source: RowSource,
        keyset: Keyset,
        filters: Sequence[Any],
        *,
        batch_size: int,
        backend: Backend,
    ) -> AsyncIterator[SchemaT]:
        """Every matching row as a schema instance, in keyset order, `batch_size` rows per
        query (the walk of `streaming.stream_batches`, with this projection's columns)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        key_columns = [column.column for column in keyset.columns]
        base = self.select(*key_columns).where(*filters).order_by(*keyset.order_by())
        base = base.limit(batch_size)

        async def walk() -> AsyncIterator[SchemaT]:
            statement = base
            while True:
                rows = await source.fetch(statement)
                for item in await self.build(source, rows):
                    yield item
                if len(rows) < batch_size:
                    return
                last = list(rows[-1][self.width :])
                statement = base.where(keyset.after(last, backend))

        return walk()


async def fetch_rows(
    session: AsyncSession, statement: Any, parameters: dict[str, Any] | None = None
) -> Sequence[Any]:
    """Run a Core `statement` on the session's connection (same transaction, same
    uncommitted writes) without the ORM's execute path: no ORM compile, no
    do_orm_execute hooks, no result-to-entity processing."""
    sync = session.sync_session
    if sync.autoflush and (sync.new or sync.deleted or sync.dirty):
        await session.flush()  # what session.execute() would do before a query
    connection = await session.connection()
    result = await connection.execute(statement, parameters)
    return result.all()


def _backend(session: AsyncSession) -> Backend:
    backend = session.info.get(BACKEND_INFO_KEY)
    if isinstance(backend, Backend):
        return backend
    return backend_for(session.get_bind().dialect.name)


_projections: dict[tuple[type[Any], type[Any]], Projection[Any]] = {}
#: The projections being planned by the outermost `projection_for()` call now.
_planning: list[Projection[Any]] = []


def projection_for(model: type[Any], schema: type[SchemaT]) -> Projection[SchemaT]:
    """The cached projection of `model` onto `schema` (TypeError naming the schema and the
    field if it cannot be one). A schema that nests itself (a tree's `children`) finds its
    own projection here while it is being planned; if planning fails, nothing planned with
    it is kept."""
    found = _projections.get((model, schema))
    if found is not None:
        return found
    outermost = not _planning
    projection: Projection[SchemaT] = Projection(model, schema, plan=False)
    _projections[(model, schema)] = projection
    _planning.append(projection)
    try:
        projection._plan()
    except BaseException:
        if outermost:
            for planned in _planning:
                _projections.pop((planned.model, planned.schema), None)
        raise
    finally:
        if outermost:
            _planning.clear()
    return projection


def plan_projections(pairs: Iterable[tuple[type[Any], type[BaseModel]]]) -> None:
    """Plan the projection of each (model, schema) now: a schema that cannot be read from
    its model raises TypeError naming the schema and the field at start-up rather than at
    the first request (see also `sqlmodel_async.fastapi.check_response_models`)."""
    for model, schema in pairs:
        projection_for(model, schema)
