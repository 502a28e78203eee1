"""`heroes export --format csv|ndjson [--output FILE]`: every hero, in id order, with a
progress bar. Memory stays bounded by one batch whatever the table size.

Registered on the CLI with `app.command("export")(export)`.
"""

from __future__ import annotations

import asyncio
import enum
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import exc as sa_exc

from sqlmodel_async import Database, DatabaseError, Repository
from sqlmodel_async.streaming import encode_csv, encode_ndjson

from .models import Hero, HeroPublic
from .settings import Settings

#: The exported columns, in HeroPublic's order (the same as GET /heroes/export).
COLUMNS = list(HeroPublic.model_fields)
BATCH_SIZE = 1000


class ExportFormat(enum.StrEnum):
    csv = "csv"
    ndjson = "ndjson"


def export(
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="csv (with a header row) or ndjson.")
    ] = ExportFormat.ndjson,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: standard output).",
                     dir_okay=False),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="DATABASE_URL", show_default=False,
                     help="Database URL (default: DATABASE_URL, else the SQLite file)."),
    ] = None,
) -> None:
    """Export every hero in id order.

    Example: heroes export --format csv --output heroes.csv
    """
    settings = Settings(database_url=database_url) if database_url else Settings()
    try:
        database = settings.database()
        count = asyncio.run(_export(database, format, output))
    except (OSError, sa_exc.SQLAlchemyError, DatabaseError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        typer.secho(f"error: export failed: {reason}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from None
    where = output if output is not None else "standard output"
    typer.secho(f"Exported {count} heroes to {where}", err=True)


async def _export(database: Database, format: ExportFormat, output: Path | None) -> int:
    """Write the export; a file is written beside the target and renamed at the end, so a
    failure never leaves a half-written FILE."""
    async with database, database.session() as session:
        heroes = Repository(Hero, session)
        total = await heroes.count()
        console = Console(stderr=True)
        progress = Progress(
            TextColumn("exporting heroes"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=console, disable=not console.is_terminal,
        )
        with progress:
            task = progress.add_task("export", total=total)
            rows = heroes.stream_rows(batch_size=BATCH_SIZE, columns=COLUMNS)
            counted = _Counter(rows, progress, task)
            chunks = (
                encode_csv(counted.rows(), columns=COLUMNS)
                if format is ExportFormat.csv
                else encode_ndjson(counted.rows())
            )
            if output is None:
                await _write(chunks, sys.stdout.buffer)
            else:
                partial = output.with_name(f".{output.name}.part")
                try:
                    with partial.open("wb") as target:
                        await _write(chunks, target)
                    os.replace(partial, output)
                finally:
                    partial.unlink(missing_ok=True)
        return counted.count


async def _write(chunks: AsyncIterator[bytes], target: BinaryIO) -> None:
    async for chunk in chunks:
        target.write(chunk)
    target.flush()


class _Counter:
    """Passes rows through, counting them and advancing the progress bar once per batch."""

    def __init__(self, rows: AsyncIterator[dict[str, Any]], progress: Progress, task: Any) -> None:
        self._rows = rows
        self._progress = progress
        self._task = task
        self.count = 0

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        async for row in self._rows:
            self.count += 1
            if self.count % BATCH_SIZE == 0:
                self._progress.update(self._task, completed=self.count)
            yield row
        self._progress.update(self._task, completed=self.count)
