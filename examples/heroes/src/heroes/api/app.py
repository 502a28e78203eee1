"""`create_app()`: the FastAPI app, its Database, lifespan, error handlers and routers."""

from __future__ import annotations

from fastapi import FastAPI

from sqlmodel_async import CursorCodec, Database
from sqlmodel_async.fastapi import add_exception_handlers, check_response_models, lifespan

from ..migrations import prepare_schema
from ..notifications import Notifier
from ..settings import Settings
from . import browse, bulk, health, heroes, items, powers, team_moves, teams, transfers
from .limits import BodyLimit, Cap
from .validation import add_validation_handler

#: Paths whose bodies may be larger than the default cap (limits.py): the bulk endpoints
#: carry up to 10,000 rows or 100,000 ids.
BULK_CAP = Cap(max_bytes=bulk.MAX_BODY_BYTES, max_values=200_000)
BODY_CAPS = {"/heroes/bulk": BULK_CAP, "/heroes/bulk-delete": BULK_CAP}

#: The routers, included in this order. FastAPI matches paths in order, so the fixed paths
#: under /heroes/ (bulk, paginated, cursor, export) come before the /heroes/ router, whose
#: /heroes/{hero_id} would otherwise take them as an id; the busiest paths (the tutorial's
#: /heroes/ and /teams/) come next. FastAPI keeps each included router as one unit and,
#: for a request, tries the routers before the one that answers, then matches inside that
#: one again: few routers, with the busiest early, keep that walk short.
ROUTERS = (
    bulk.router,
    browse.router,
    heroes.router,
    teams.router,
    team_moves.router,
    transfers.router,
    items.router,
    powers.router,
    health.router,
)


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
    for router in ROUTERS:
        app.include_router(router)
    # Every response schema planned now: one that cannot be read fails here, at boot.
    check_response_models(app)
    return app
