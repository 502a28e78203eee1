"""`heroes seed N`: synthetic heroes bulk-loaded in one transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from heroes.models import Hero
from heroes.seed import seed, seed_heroes
from sqlmodel import func, select
from typer.testing import CliRunner

from sqlmodel_async import Database


async def count_heroes(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(Hero))).one()
        names = (await session.exec(select(func.count(func.distinct(Hero.name))))).one()
    return int(total), int(names)


async def test_seed_heroes_writes_unique_names_in_batches(db: Database) -> None:
    steps: list[int] = []
    assert await seed_heroes(db, 1234, batch=500, on_progress=steps.append) == 1234
    assert steps == [500, 500, 234]
    assert await seed_heroes(db, 100) == 100  # a second run adds, never collides
    assert await count_heroes(db) == (1334, 1334)


def test_seed_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'seed.db'}"
    app = typer.Typer()
    app.command()(seed)
    result = CliRunner().invoke(app, ["2500", "--batch", "1000", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "Seeded 2500 heroes" in result.output

    async def check() -> tuple[int, int]:
        async with Database(url) as db:
            return await count_heroes(db)

    assert asyncio.run(check()) == (2500, 2500)
    refused = CliRunner().invoke(app, ["0", "--database-url", url])
    assert refused.exit_code == 2 and "greater than or equal to 1" in refused.output
