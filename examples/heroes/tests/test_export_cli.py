"""`heroes export --format csv|ndjson [--output FILE]`."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import sqlalchemy as sa
import typer
from heroes.export import COLUMNS, export
from heroes.models import Hero
from typer.testing import CliRunner, Result

from sqlmodel_async import Database

NAMES = ["comma, hero", 'quote "hero"', "new\nline", "ünï 漢字 🦸"]


def cli() -> typer.Typer:
    """The command as the `heroes` CLI registers it."""
    app = typer.Typer()
    app.command("export")(export)
    app.command("noop")(lambda: None)  # two commands: typer keeps the subcommand name
    return app


async def invoke(*args: str) -> Result:
    # In a thread: the command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(CliRunner().invoke, cli(), ["export", *args])


async def insert(db: Database, count: int) -> None:
    rows = [
        {"name": f"{i:04d} {NAMES[i % len(NAMES)]}", "secret_name": NAMES[i % len(NAMES)],
         "age": None if i % 3 == 0 else i, "power_level": i / 8}
        for i in range(count)
    ]
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(Hero.__table__), rows)  # type: ignore[arg-type]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def test_export_csv_to_a_file(db: Database, backend_url: str, tmp_path: Path) -> None:
    await insert(db, 2500)
    target = tmp_path / "heroes.csv"
    result = await invoke("--format", "csv", "--output", str(target), "--database-url", backend_url)
    assert result.exit_code == 0, result.output
    assert "Exported 2500 heroes" in result.output
    records = read_csv(target)
    assert list(records[0]) == COLUMNS
    assert [int(r["id"]) for r in records] == sorted(int(r["id"]) for r in records)
    assert len(records) == 2500
    assert {r["secret_name"] for r in records} == set(NAMES)
    assert files(tmp_path) == ["heroes.csv"]  # no partial file left


async def test_export_ndjson_to_stdout(db: Database, backend_url: str) -> None:
    await insert(db, 40)
    result = await invoke("--database-url", backend_url)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.split("\n") if line.startswith("{")]
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 40 and all(list(row) == COLUMNS for row in rows)


async def test_unknown_format_and_unreachable_database(tmp_path: Path) -> None:
    bad_format = await invoke("--format", "xml", "--database-url", "sqlite+aiosqlite://")
    assert bad_format.exit_code == 2
    target = tmp_path / "out.csv"
    unreachable = await invoke(
        "--format", "csv", "--output", str(target),
        "--database-url", "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    )
    assert unreachable.exit_code == 1
    assert "export failed" in unreachable.output
    assert files(tmp_path) == []  # no output file, no partial file
