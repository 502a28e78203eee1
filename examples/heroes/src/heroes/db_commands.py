"""`heroes db ...`: the schema's migrations (Alembic) from the command line.

Every failure is one line on stderr and exit code 1: an unreachable database, an unknown
revision, a schema that is not at head, models that differ from the migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from alembic.util import CommandError
from sqlalchemy import exc as sa_exc

from sqlmodel_async import Database, DatabaseError

from . import migrations
from .migrations import runner
from .settings import Settings

T = TypeVar("T")

db = typer.Typer(
    help="Schema migrations (Alembic). On PostgreSQL and MariaDB run `heroes db upgrade` "
    "before starting a new version; the SQLite default is migrated at start.\n\n"
    "Example: DATABASE_URL=postgresql://app@db/heroes heroes db upgrade",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="Database URL (default: DATABASE_URL, else sqlite+aiosqlite:///./heroes.db).",
        show_default=False,
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


class _Progress(logging.Handler):
    """Alembic's "Running upgrade 0001 -> 0002" lines, on whatever stderr is now."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage().startswith("Running ")

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(record.getMessage(), err=True)


def _show_progress() -> None:
    progress = logging.getLogger("alembic.runtime.migration")
    progress.setLevel(logging.INFO)
    if not any(isinstance(handler, _Progress) for handler in progress.handlers):
        progress.addHandler(_Progress())
    # asyncmy logs MariaDB's notes as warnings ("Name 'alembic_version_pkc' ignored for
    # PRIMARY key"): noise here.
    logging.getLogger("asyncmy").setLevel(logging.ERROR)


def _run(database_url: str | None, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work(database)`; any failure becomes one line and exit code 1."""
    _show_progress()
    try:
        settings = Settings(database_url=database_url) if database_url else Settings()
        database = settings.database()
    except DatabaseError as error:
        raise _fail(str(error)) from None

    async def main() -> T:
        try:
            return await work(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except migrations.SchemaError as error:
        raise _fail(str(error)) from None
    except CommandError as error:  # unknown revision, nothing to downgrade, ...
        raise _fail(_first_line(error)) from None
    except (OSError, sa_exc.SQLAlchemyError, DatabaseError) as error:
        reason = _first_line(getattr(error, "orig", None) or error)
        raise _fail(f"database error at {database.url}: {reason}") from None


def _first_line(error: object) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


@db.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Apply pending migrations (up to head, or to REVISION).

    Example: heroes db upgrade
    """
    _run(database_url, lambda database: runner.upgrade(database, revision))
    typer.echo(f"at {revision if revision != 'head' else migrations.head_revision()}")


# ignore_unknown_options: `-1` (one step down) is a revision, not an option.
@db.command(context_settings={"ignore_unknown_options": True})
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision: an id, -1, or base.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revert migrations down to REVISION (`base` drops every table of the service).

    Example: heroes db downgrade -1
    """
    _run(database_url, lambda database: runner.downgrade(database, revision))
    current = _run(database_url, migrations.current_revision)
    typer.echo(f"at {current or 'base'}")


@db.command()
def current(database_url: DatabaseUrl = None) -> None:
    """Print the database's revision (`base` before the first upgrade) and whether it is head.

    Example: heroes db current
    """
    revision = _run(database_url, migrations.current_revision)
    head = migrations.head_revision()
    marker = " (head)" if revision == head else f" (head is {head})"
    typer.echo(f"{revision or 'base'}{marker}")


@db.command()
def revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
    autogenerate: Annotated[
        bool, typer.Option("--autogenerate", help="Fill it in from the models' differences.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a new revision into heroes/migrations/versions/ (review it before committing).

    Example: heroes db revision --autogenerate -m "add hero nickname"
    """
    # Alembic prints "Generating ... done" on stdout: stdout is for the path alone.
    with contextlib.redirect_stdout(sys.stderr):
        paths = _run(
            database_url,
            lambda database: runner.revision(database, message, autogenerate=autogenerate),
        )
    for path in paths:
        typer.echo(str(path))


@db.command()
def check(database_url: DatabaseUrl = None) -> None:
    """Exit 0 when the database is at head and matches the models, else 1 with the reason.

    Example: heroes db check
    """
    _run(database_url, runner.check)
    typer.echo("the database is at head and matches the models")


def prepare_schema_or_exit(database_url: str) -> None:
    """What `heroes serve` runs before starting its workers (migrations.prepare_schema)."""
    _run(database_url, migrations.prepare_schema)
