"""`heroes seed N`: bulk-load N synthetic heroes (unique names) with a progress bar.

The rows are generated lazily and written with `Repository.create_many(returning=False)`
in batches, all in one transaction: COPY on PostgreSQL, so a million heroes take seconds,
and memory stays bounded by one batch. Either every hero is written or none is.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import exc as sa_exc

from sqlmodel_async import Database, DatabaseError, Repository

from .db_commands import prepare_schema_or_exit
from .models import Hero
from .settings import Settings

#: Heroes per create_many call (one progress step); the library chunks further inside.
BATCH = 50_000
MAX_COUNT = 100_000_000


def synthetic_heroes(count: int, tag: str, start: int = 0) -> Iterator[dict[str, Any]]:
    """`count` heroes numbered from `start`; `tag` keeps names unique across runs."""
    for number in range(start, start + count):
        yield {
            "name": f"Hero {tag}-{number:08d}",
            "secret_name": f"Secret identity {number:08d}",
            "age": 18 + number % 60,
            "power_level": float(number % 100),
        }


async def seed_heroes(
    database: Database,
    count: int,
    *,
    batch: int = BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Insert `count` synthetic heroes in one transaction; returns how many were written."""
    tag = secrets.token_hex(4)
    written = 0
    async with database.transaction() as session:
        heroes = Repository(Hero, session)
        while written < count:
            size = min(batch, count - written)
            rows = synthetic_heroes(size, tag, start=written)
            written += await heroes.create_many(rows, returning=False)
            if on_progress is not None:
                on_progress(size)
    return written


def seed(
    count: Annotated[int, typer.Argument(min=1, max=MAX_COUNT, help="How many heroes.")],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="DATABASE_URL",
            help="Database URL (default: DATABASE_URL, else sqlite+aiosqlite:///./heroes.db).",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Heroes per step.")] = BATCH,
) -> None:
    """Bulk-load COUNT synthetic heroes with unique names, in one transaction.

    Example: heroes seed 1000000 --database-url postgresql://postgres@127.0.0.1/heroes
    """
    settings = Settings(database_url=database_url) if database_url else Settings()
    prepare_schema_or_exit(settings.database_url)  # SQLite migrated, servers at head
    try:
        database = settings.database()
    except DatabaseError as error:
        raise _fail(str(error)) from None

    columns = (
        TextColumn("[bold]Seeding heroes"), BarColumn(), MofNCompleteColumn(),
        TaskProgressColumn(), TimeElapsedColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task("seed", total=count)

        async def main() -> int:
            async with database:
                return await seed_heroes(
                    database, count, batch=batch,
                    on_progress=lambda size: progress.advance(task, size),
                )

        try:
            written = asyncio.run(main())
        except (OSError, sa_exc.SQLAlchemyError, DatabaseError) as error:
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise _fail(f"nothing was seeded: {reason}") from None
    typer.echo(f"Seeded {written} heroes")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)
