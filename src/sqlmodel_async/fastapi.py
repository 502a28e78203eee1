"""FastAPI integration: the session dependency, a lifespan, and database errors as HTTP.

>>> db = Database.from_env()
>>> app = FastAPI(lifespan=lifespan(db))
>>> add_exception_handlers(app)
>>> @app.get("/heroes/{hero_id}")
... async def read_hero(hero_id: int, session: SessionDep) -> HeroPublic:
...     return await Repository(Hero, session).get_one(hero_id)
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from .database import Database
from .errors import (
    CheckViolation,
    ConcurrentUpdateError,
    DatabaseError,
    DuplicateKeyError,
    ForeignKeyError,
    InvalidDataError,
    NotFoundError,
    NotNullViolation,
    ReadOnlyError,
    TransientError,
    translate,
)
from .filters import InvalidFilterError
from .pagination import InvalidCursorError, InvalidPageError
from .projection import projection_for

logger = logging.getLogger("sqlmodel_async.fastapi")

#: Seconds a client is asked to wait after a 503.
RETRY_AFTER_SECONDS = 1


async def get_database(request: Request) -> Database:
    """The app's Database, put on `app.state.database` by `lifespan()`.

    A coroutine on purpose: FastAPI runs a plain `def` dependency in its thread pool, a
    thread hop per request for what is an attribute read."""
    return database_of(request)


def database_of(request: Request) -> Database:
    """The app's Database, without a dependency: for the hottest endpoints, a `request:
    Request` parameter and this call skip FastAPI's dependency resolution, a noticeable
    part of a GET by id (docs/benchmarks.md). Elsewhere `DatabaseDep` reads better."""
    database = getattr(request.app.state, "database", None)
    if not isinstance(database, Database):
        raise RuntimeError(
            "no Database on app.state.database: create the app with "
            "FastAPI(lifespan=lifespan(db)) or set app.state.database"
        )
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """A session for one request; what the handler did not commit is rolled back.

    Background tasks must not use it: it is closed when the request ends. They open
    their own with `async with database.session()`.
    """
    async with database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def lifespan(
    database: Database,
    *,
    create_all: bool = False,
    on_startup: Callable[[Database], Any] | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan that publishes `database` to the app and disposes it on shutdown.

    `create_all=True` creates missing tables at start (fine for SQLite demos and tests; use
    migrations in production). `on_startup(database)` may be a coroutine function.
    """

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = database
        if create_all:
            await database.create_all()
        if on_startup is not None:
            result = on_startup(database)
            if hasattr(result, "__await__"):
                await result
        try:
            yield
        finally:
            await database.dispose()

    return run


# --- errors as HTTP responses -----------------------------------------------------------


def error_response(error: BaseException) -> JSONResponse:
    """The HTTP answer for a database error: 4xx with a JSON `detail` for the client's
    mistakes, 503 with Retry-After for what may pass, and a 500 that carries no SQL."""
    error = translate(error)
    if isinstance(error, InvalidCursorError):
        return JSONResponse({"detail": error.detail}, status_code=400)
    if isinstance(error, InvalidPageError | InvalidFilterError):
        detail = [{"loc": ["query", error.column], "msg": error.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)
    if isinstance(error, NotFoundError):
        return JSONResponse({"detail": error.detail}, status_code=404)
    if isinstance(error, ConcurrentUpdateError):
        return JSONResponse({"detail": error.detail}, status_code=409)
    if isinstance(error, DuplicateKeyError):
        return JSONResponse({"detail": _about(error, "already exists")}, status_code=409)
    if isinstance(error, ForeignKeyError):
        if error.missing_reference:
            return _field_error(error, "foreign_key", "refers to a row that does not exist")
        return JSONResponse({"detail": "still referenced by other rows"}, status_code=409)
    if isinstance(error, NotNullViolation):
        return _field_error(error, "missing", "is required")
    if isinstance(error, CheckViolation):
        return _field_error(error, "value_error", "is not an allowed value")
    if isinstance(error, ReadOnlyError):
        return JSONResponse({"detail": "writes are not allowed here"}, status_code=403)
    if isinstance(error, InvalidDataError):
        return _field_error(error, "value_error", "cannot be written")
    if isinstance(error, ValidationError):
        # jsonable: an error's ctx may hold the exception a validator raised
        detail = jsonable_encoder(error.errors(include_url=False))
        return JSONResponse({"detail": detail}, status_code=422)
    if _is_unavailable(error):
        return JSONResponse(
            {"detail": "the database is unavailable, try again"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    logger.error("database error answered with 500", exc_info=error)
    return JSONResponse({"detail": "internal database error"}, status_code=500)


def _about(error: DatabaseError, what: str) -> str:
    return f"{error.column} {what}" if error.column else f"a row with this key {what}"


def _field_error(error: DatabaseError, kind: str, message: str) -> JSONResponse:
    field = error.column or "body"
    detail = [{"loc": ["body", field], "msg": f"{field} {message}", "type": kind}]
    return JSONResponse({"detail": detail}, status_code=422)


def _is_unavailable(error: BaseException) -> bool:
    """Worth retrying later: a transient failure, an exhausted pool, a server that cannot
    be reached. Not every OperationalError (SQLite raises one for a missing table)."""
    if isinstance(error, TransientError | sa_exc.TimeoutError | OSError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


async def _handle(_request: Request, error: Exception) -> JSONResponse:
    return error_response(error)


def add_exception_handlers(app: FastAPI) -> None:
    """Answer database errors with the right status instead of a 500 with a traceback."""
    # OSError: an unreachable server surfaces as the socket's error (asyncpg raises a bare
    # OSError when every address of a host name refuses).
    for error_type in (
        DatabaseError,
        sa_exc.DBAPIError,
        orm_exc.StaleDataError,  # a version check raised by a commit's flush
        sa_exc.TimeoutError,
        ValidationError,
        OSError,
    ):
        app.add_exception_handler(error_type, _handle)


# --- start-up check of the response schemas ---------------------------------------------


def check_response_models(
    app: FastAPI, *, models: Iterable[type[SQLModel]] | None = None
) -> list[tuple[type[Any], type[BaseModel]]]:
    """Plan the projection of every response schema of `app`'s routes onto the table model
    it describes, so that a schema that cannot be read (a field that is neither a column
    nor a relationship, a relationship of an unsupported shape) fails when the app starts,
    with the route, the schema and the field named, instead of at its first request.

    A schema describes a table model when both derive from a common base holding fields
    (SQLModel's pattern: `HeroPublic(HeroBase)` and `Hero(HeroBase, table=True)`); nested
    schemas are planned with their parent. `models`: the table models to consider (by
    default every table model defined). Returns the (model, schema) pairs planned.

    >>> app = create_app()
    >>> check_response_models(app)  # at start-up, e.g. in the lifespan
    """
    tables = list(models) if models is not None else _table_models(SQLModel)
    planned: list[tuple[type[Any], type[BaseModel]]] = []
    for route in _api_routes(app):
        if route.response_model is None:
            continue
        for schema in dict.fromkeys(_schemas_in(route.response_model)):
            for model in tables:
                if (model, schema) in planned or not _describes(schema, model):
                    continue
                try:
                    projection_for(model, schema)
                except TypeError as error:
                    methods = ",".join(sorted(route.methods or ()))
                    raise TypeError(
                        f"{methods} {route.path}: the response schema {schema.__name__} cannot "
                        f"be read from {model.__name__}: {error}"
                    ) from error
                planned.append((model, schema))
    return planned


def _api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """The app's path operations, those of included routers too: newer FastAPI releases
    keep an included router as one entry of `app.routes`, and list what it holds through
    `fastapi.routing.iter_route_contexts` (older ones copy its routes into the app's)."""
    iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_route_contexts is None:
        routes: Iterable[Any] = app.routes
    else:
        routes = (context.original_route for context in iter_route_contexts(app.routes))
    for route in routes:
        if isinstance(route, APIRoute):
            yield route


def _table_models(base: type[Any]) -> list[type[Any]]:
    found: list[type[Any]] = []
    for subclass in base.__subclasses__():
        if hasattr(subclass, "__table__") and subclass not in found:
            found.append(subclass)
        found.extend(m for m in _table_models(subclass) if m not in found)
    return found


def _schemas_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The schemas a response annotation returns: `S`, `list[S]`, `S | None`, `Page[S]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        generic = getattr(annotation, "__pydantic_generic_metadata__", None) or {}
        if generic.get("args"):
            for argument in generic["args"]:
                yield from _schemas_in(argument)
        elif not hasattr(annotation, "__table__"):
            yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _schemas_in(typing.get_args(annotation)[0])
        return
    if origin in (typing.Union, types.UnionType) or origin in (list, tuple, set, frozenset):
        for argument in typing.get_args(annotation):
            yield from _schemas_in(argument)
        return
    if origin is not None and typing.get_args(annotation):  # Sequence[S], dict[str, S]...
        for argument in typing.get_args(annotation):
            yield from _schemas_in(argument)


def _describes(schema: type[BaseModel], model: type[Any]) -> bool:
    shared = set(schema.__mro__) & set(model.__mro__) - set(SQLModel.__mro__)
    return any(getattr(base, "model_fields", None) for base in shared)
