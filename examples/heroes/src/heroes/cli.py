"""The `heroes` command: serve the API, or run the seed's demo."""

from __future__ import annotations

import asyncio
import enum
import os
from typing import Annotated

import typer
from sqlalchemy import exc as sa_exc

from sqlmodel_async import Database, DatabaseError

from .db_commands import db, prepare_schema_or_exit
from .export import export
from .seed import seed
from .settings import Settings

#: How long a worker process may take to start before uvicorn gives up on it.
WORKER_STARTUP_SECONDS = 60

app = typer.Typer(
    help="The Heroes reference service on sqlmodel-async.\n\n"
    "Example: heroes serve --port 8000",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(db, name="db")
app.command("seed")(seed)
app.command("export")(export)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="Database URL (default: DATABASE_URL, else sqlite+aiosqlite:///./heroes.db). "
        "Example: --database-url postgresql://postgres@127.0.0.1/heroes",
        show_default=False,
    ),
]


def _settings(database_url: str | None) -> Settings:
    return Settings(database_url=database_url) if database_url else Settings()


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _database(settings: Settings) -> Database:
    try:
        return settings.database()
    except DatabaseError as error:
        raise _fail(str(error)) from None


async def _check(database: Database, *, create_tables: bool) -> None:
    try:
        await database.ping()
        if create_tables:
            await database.create_all()
    finally:
        await database.dispose()


def _reach(database: Database, *, create_tables: bool = False) -> None:
    """Fail with one line (not a traceback) when the database cannot be reached."""
    try:
        asyncio.run(_check(database, create_tables=create_tables))
    except (OSError, sa_exc.SQLAlchemyError, DatabaseError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise _fail(f"cannot reach the database at {database.url}: {reason}") from None


class LogLevel(enum.StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


#: Seconds an idle keep-alive connection stays open (uvicorn's default is 5).
KEEP_ALIVE_SECONDS = 5


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help="Server log level.")
    ] = LogLevel.info,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="One log line per request.")
    ] = True,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Take the client's address and scheme from X-Forwarded-For / "
            "X-Forwarded-Proto, when the peer is in --forwarded-allow-ips.",
        ),
    ] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Comma-separated addresses (or *) whose X-Forwarded-* headers are "
            "trusted: your reverse proxy's (default: FORWARDED_ALLOW_IPS, else "
            "127.0.0.1). Example: --forwarded-allow-ips 10.0.0.5",
            show_default=False,
        ),
    ] = None,
    timeout_keep_alive: Annotated[
        int,
        typer.Option(
            "--timeout-keep-alive", min=1,
            help="Seconds an idle keep-alive connection is kept open.",
        ),
    ] = KEEP_ALIVE_SECONDS,
) -> None:
    """Serve the HTTP API (docs at /docs); SQLite is migrated at start (`heroes db`).

    uvicorn has no timeout for reading a request's headers or body: in production put a
    reverse proxy in front (docs/deployment.md has an nginx example) and pass its address
    to --forwarded-allow-ips.

    Example: heroes serve --host 0.0.0.0 --port 8080 --workers 2 --no-access-log
    (several workers need CURSOR_SECRET set)
    """
    import uvicorn

    settings = _settings(database_url)
    try:
        warning = settings.check_cursor_secret(workers=workers)
    except DatabaseError as error:  # several workers and no shared secret, or a short one
        raise _fail(str(error)) from None
    _reach(_database(settings))
    # Migrated (SQLite) or checked (servers) here, once: workers starting together do not
    # race, and a schema that is not at head is one line, not a traceback per worker.
    prepare_schema_or_exit(settings.database_url)
    # The workers build their app from the environment.
    os.environ["DATABASE_URL"] = settings.database_url
    if warning:
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)
    uvicorn.run(
        "heroes.api.server:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.value,
        access_log=access_log,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_keep_alive=timeout_keep_alive,
        # A worker answers the supervisor's ping only once it has imported the app: on a
        # busy machine that can take longer than uvicorn's 5 s, and the worker is killed.
        timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
    )


@app.command()
def demo(database_url: DatabaseUrl = None) -> None:
    """Run the seed's complete example (create, list, update, find) and print its lines.

    Example: DATABASE_URL=sqlite+aiosqlite:///./demo.db heroes demo
    """
    from .demo import run_demo

    database = _database(_settings(database_url))
    _reach(database)

    async def main() -> None:
        async with database:
            await run_demo(database, echo=typer.echo)

    try:
        asyncio.run(main())
    except (OSError, sa_exc.SQLAlchemyError, DatabaseError) as error:
        raise _fail(str(error).splitlines()[0]) from None
