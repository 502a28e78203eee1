"""The signature rule of the reads: filters positionally and first, everything else by
keyword, `**equals` wherever filters are taken. A misuse is a TypeError naming the
parameter at run time, and an error under `mypy --strict`; `order_by=()` means no ORDER
BY, `order_by=None` the primary key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from sqlmodel_async import Database, Repository

from .models import Hero, Team
from .support.recorders import queries

ROOT = Path(__file__).resolve().parents[1]
SECRET = "signature-tests-secret-0123456789"


class HeroName(SQLModel):
    id: int
    name: str


async def seed(db: Database) -> int:
    async with db.transaction() as session:
        team = Team(name="Red", headquarters="R")
        session.add(team)
        await session.flush()
        session.add_all(
            Hero(name=f"Hero {n}", secret_name="s", age=n, team_id=team.id if n < 3 else None)
            for n in range(6)
        )
        assert team.id is not None
        return team.id


async def test_positional_options_are_type_errors_naming_the_keyword(db: Database) -> None:
    async with db.session() as session:
        heroes = Repository(Hero, session)
        projected = heroes.project(HeroName)
        misuses: list[tuple[Any, str]] = [
            (lambda: heroes.stream(Hero.age > 3, 500), "batch_size"),  # type: ignore[operator]
            (lambda: heroes.stream_rows(1000), "batch_size"),
            (lambda: heroes.paginate(2, 10), "page, size"),
            (lambda: heroes.paginate_cursor(10), "limit"),
            (lambda: heroes.list(Hero.name == "x", 10), "offset, limit"),
            (lambda: heroes.first("Hero 1"), "order_by"),
            (lambda: heroes.count(None), "filters positionally"),
            (lambda: heroes.rows(["id"]), "columns"),
            (lambda: projected.list(5), "offset, limit"),
            (lambda: projected.paginate(1, 10), "page, size"),
            (lambda: projected.paginate_cursor(10), "limit"),
            (lambda: projected.stream(100), "batch_size"),
            (lambda: projected.list_json(0, 10), "offset, limit"),
        ]
        for call, named in misuses:
            with pytest.raises(TypeError, match="by keyword only") as caught:
                result = call()
                if hasattr(result, "__await__"):
                    await result
            assert named in str(caught.value)


async def test_a_filter_given_for_an_option_is_a_type_error(db: Database) -> None:
    async with db.session() as session:
        heroes = Repository(Hero, session)
        condition: Any = Hero.age > 3  # type: ignore[operator]
        with pytest.raises(TypeError, match="batch_size="):
            heroes.stream(batch_size=condition)
        with pytest.raises(TypeError, match="page="):
            await heroes.paginate(page=condition)
        with pytest.raises(TypeError, match="limit="):
            await heroes.paginate_cursor(limit=condition)
        with pytest.raises(TypeError, match="limit="):
            await heroes.project(HeroName).list(limit=condition)
        with pytest.raises(TypeError, match="order_by="):
            await heroes.list(order_by=Hero.name)
        with pytest.raises(TypeError, match="order_by="):
            await heroes.paginate_cursor(order_by=Hero.name)


async def test_equals_wherever_filters_are_taken(db: Database) -> None:
    team_id = await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        page = await heroes.paginate(Hero.age > 0, size=10, team_id=team_id)  # type: ignore[operator]
        assert [hero.age for hero in page.items] == [1, 2] and page.total == 2
        cursor = await heroes.paginate_cursor(limit=10, secret=SECRET, team_id=None)
        assert [hero.age for hero in cursor.items] == [3, 4, 5]
        assert [hero.age async for hero in heroes.stream(team_id=team_id)] == [0, 1, 2]
        rows = [row async for row in heroes.stream_rows(columns=["name"], age=4)]
        assert rows == [{"name": "Hero 4"}]
        with pytest.raises(TypeError, match="no column 'nickname'"):
            heroes.stream(nickname="x")


async def test_an_empty_order_by_sends_no_order_by(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        projected = heroes.project(HeroName)
        with queries(db, starting="SELECT") as unordered:
            assert len(await heroes.list(order_by=())) == 6
            assert await heroes.first(order_by=(), name="Hero 2") is not None
            assert len(await heroes.rows(order_by=())) == 6
            assert len(await heroes.tuples(Hero.age > 1, order_by=[])) == 4  # type: ignore[operator]
            assert len(await projected.list(order_by=())) == 6
            assert await projected.first(order_by=(), name="Hero 2") is not None
        assert len(unordered) == 6
        assert not [s for s in unordered if "ORDER BY" in s.upper()], unordered
        with queries(db, starting="SELECT") as ordered:
            await heroes.list()
            await heroes.first(name="Hero 2")
            await heroes.rows()
            await projected.list(Hero.age > 1)  # type: ignore[operator]
        assert len(ordered) == 4 and all("ORDER BY" in s.upper() for s in ordered), ordered


MISUSES = '''\
from heroes.models import Hero, HeroPublic
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel_async import Database, Repository

async def f(session: AsyncSession, db: Database) -> None:
    heroes = Repository(Hero, session)
    heroes.stream(col(Hero.age) > 3, 500)
    await heroes.paginate(2, 10)
    await heroes.paginate_cursor(10, after=None)
    heroes.stream_rows(1000)
    await heroes.project(HeroPublic).paginate(1, 10)
    async with db.reader() as reader:
        reader.project(Hero, HeroPublic).stream(100)
    await heroes.paginate(col(Hero.age) > 3, page=2, size=10, team_id=1)
    heroes.stream(col(Hero.age) > 3, batch_size=500)
'''


def test_mypy_refuses_the_old_positional_calls(tmp_path: Path) -> None:
    path = tmp_path / "misuse.py"
    path.write_text(MISUSES)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert sorted({int(line.split(":")[1]) for line in errors}) == [8, 9, 10, 11, 12, 14], (
        result.stdout
    )
