"""`create_app()`: the FastAPI app, its Database, lifespan, error handlers and routers."""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI

from sqlmodel_async import CursorCodec, Database
from sqlmodel_async.fastapi import add_exception_handlers, check_response_models, lifespan

from ..migrations import prepare_schema
from ..notifications import Notifier
from ..settings import Settings
from .bulk import MAX_BODY_BYTES as BULK_MAX_BODY_BYTES
from .limits import BodyLimit, Cap
from .validation import add_validation_handler

#: Paths whose bodies may be larger than the default cap (limits.py): the bulk endpoints
#: carry up to 10,000 rows or 100,000 ids.
BULK_CAP = Cap(max_bytes=BULK_MAX_BODY_BYTES, max_values=200_000)
BODY_CAPS = {"/heroes/bulk": BULK_CAP, "/heroes/bulk-delete": BULK_CAP}

#: Router modules (each has a `router`), included in this order. FastAPI matches paths in
#: order, so fixed paths under /heroes/ (bulk, paginated, export, ...) must come before
#: `heroes.api.heroes`, whose /heroes/{hero_id} would otherwise take them as an id. The
#: busiest paths (the tutorial's /heroes/ and /teams/) come next: each request tries the
#: routes before its own (about 2 us each, py-spy); health, transfers and items last (their
#: paths never match /heroes/{hero_id} or /teams/{team_id}). Adding a router is one line.
ROUTER_MODULES = [
    # Extension paths before /heroes/{hero_id}, so they never parse as an id.
    "heroes.api.bulk",
    "heroes.api.browse",
    "heroes.api.heroes",
    "heroes.api.teams",
    "heroes.api.team_moves",
    "heroes.api.transfers",
    "heroes.api.items",
    "heroes.api.powers",
    "heroes.api.health",
]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """The Heroes app on `database`, or on the one `settings` (default: the environment)
    describe. At start-up pending migrations are applied on SQLite (the default needs no
    setup step); on a database server the schema must be at head (`heroes db upgrade`)."""
    settings = settings or Settings()
    if database is None:
        database = settings.database()
    app = FastAPI(
        title="Heroes",
        summary="The SQLModel tutorial's heroes and teams, async, on sqlmodel-async.",
        lifespan=lifespan(database, on_startup=prepare_schema),
    )
    # Set now as well as by the lifespan: clients that skip the lifespan (httpx's
    # ASGITransport) still reach the database.
    app.state.database = database
    app.state.notifier = Notifier(database)
    if settings.cursor_secret:
        app.state.cursor_codec = CursorCodec(settings.cursor_secret)
    add_exception_handlers(app)
    add_validation_handler(app)
    app.add_middleware(BodyLimit, paths=BODY_CAPS)
    for name in ROUTER_MODULES:
        router: APIRouter = importlib.import_module(name).router
        add_routes(app, router)
    # Every response schema planned now: one that cannot be read fails here, at boot.
    check_response_models(app)
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """`router`'s routes on the app's own router, as `app.include_router(router)` would
    put them there with no include options (an APIRoute already holds the router's prefix,
    tags and responses). FastAPI 0.165 keeps an included router as a unit instead and
    matches its routes twice per request (to select it, then inside it): measured 100 us of
    a 480 us GET /heroes/{id} with seven routers. The OpenAPI document is the same
    (test_read_path.py compares it)."""
    app.router.routes.extend(router.routes)
