"""What every part of `Repository` shares: the model, the session, the backend, the
primary key and the SELECT / WHERE / ORDER BY building that reads, pages and streams use."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Mapper
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from ._keys import primary_key
from .dialects import BACKEND_INFO_KEY, Backend, backend_for
from .loading import Loadable, loader_options
from .projected import Filter, Projected
from .projection import SessionRows
from .query import equals_clauses, ordering

ModelT = TypeVar("ModelT", bound=SQLModel)
#: A response schema that `project()` reads instead of model instances (projected.py).
SchemaT = TypeVar("SchemaT", bound=BaseModel)

__all__ = ["Filter", "ModelT", "Order", "RepositoryBase", "SchemaT"]

#: An ORDER BY item such as `Hero.name` or `Hero.name.desc()`.
Order = Any


class RepositoryBase(Generic[ModelT]):
    """One table model on one session; the parts of `Repository` build on it."""

    def __init__(self, model: type[ModelT], session: AsyncSession) -> None:
        self.model = model
        self.session = session
        self._key = key = primary_key(model)
        self._mapper: Mapper[Any] = key.mapper
        self._primary_key = key.columns

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
        """The single primary-key column (a composite key has several: see `self._key`)."""
        if len(self._primary_key) != 1:
            raise TypeError(f"{self.model.__name__} has a composite primary key")
        return getattr(self.model, str(self._primary_key[0].key))

    def project(self, schema: type[SchemaT]) -> Projected[SchemaT]:
        """Reads of this model as `schema` instances (or their JSON) through this session:
        `get`, `get_one`, `first`, `list`, `count`, `exists`, `paginate`,
        `paginate_cursor`, `stream` and the `*_json` forms (projected.py). Only the
        schema's columns are selected, its relationships read with it, and no ORM
        instance is made: the way to answer a request. Model instances (`get`, `list`...)
        are for changing rows."""
        return Projected(self.model, schema, self._rows())

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
        """`order_by`; the primary key when None; no ORDER BY when empty (`()`)."""
        return ordering(self.model, order_by)

    def _equals(self, equals: Mapping[str, Any]) -> builtins.list[Any]:
        return equals_clauses(self.model, equals)

    def _rows(self) -> SessionRows:
        return SessionRows(self.session, self.backend)
