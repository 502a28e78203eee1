"""The pool a Database gets when none is asked for: the one docs/deployment.md states, used
as is by `heroes serve`, and one that keeps its connections under steady load."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy.pool import NullPool

from sqlmodel_async import Database
from sqlmodel_async._compat import pool_max_overflow
from sqlmodel_async.database import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE

DEPLOYMENT = Path(__file__).parent.parent / "docs" / "deployment.md"


def test_the_defaults_are_the_documented_ones() -> None:
    said = re.search(
        r"default pool is `pool_size=(\d+), max_overflow=(\d+)`", DEPLOYMENT.read_text()
    )
    assert said is not None, "docs/deployment.md no longer states the default pool"
    assert (int(said[1]), int(said[2])) == (DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW)
    assert (DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW) == (10, 0)


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/db", "mysql://u@h/db", "sqlite:///{tmp}/defaults.db"]
)
def test_a_database_without_pool_options_gets_the_defaults(url: str, tmp_path: Path) -> None:
    pool = Database(url.format(tmp=tmp_path)).engine.pool
    assert isinstance(pool, sa.pool.QueuePool)
    assert pool.size() == DEFAULT_POOL_SIZE
    assert pool_max_overflow(pool) == DEFAULT_MAX_OVERFLOW


def test_given_options_win_one_by_one() -> None:
    pool = Database("postgresql://u@h/db", pool_size=20).engine.pool
    assert (pool.size(), pool_max_overflow(pool)) == (20, DEFAULT_MAX_OVERFLOW)
    pool = Database("postgresql://u@h/db", max_overflow=5).engine.pool
    assert (pool.size(), pool_max_overflow(pool)) == (DEFAULT_POOL_SIZE, 5)
    # A pool class of the caller's, and in-memory SQLite's static pool, take no queue options.
    assert isinstance(Database("postgresql://u@h/db", poolclass=NullPool).engine.pool, NullPool)
    assert isinstance(Database("sqlite://").engine.pool, sa.pool.StaticPool)


def test_heroes_serve_uses_the_library_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from heroes.settings import Settings

    for name in ("POOL_SIZE", "MAX_OVERFLOW", "POOL_TIMEOUT", "POOL_RECYCLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    pool = Settings(_env_file=None).database().engine.pool  # type: ignore[call-arg]
    assert (pool.size(), pool_max_overflow(pool)) == (DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW)


async def test_steady_load_opens_no_connection_after_warm_up(backend_url: str) -> None:
    """Twice as many concurrent tasks as connections, round after round: the connections
    opened in the first round serve every later one (SQLAlchemy's 5 + 10 overflow default
    opened and closed the overflow connections each round)."""
    db = Database(backend_url)
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(db.engine.sync_engine, "connect", count)

    async def work() -> None:
        async with db.session() as session:
            await session.exec(sa.select(sa.literal(1)))
            await asyncio.sleep(0.01)  # hold the connection so the tasks overlap

    async def reads() -> None:
        async with db.reader() as reader:
            await reader.fetch(text("SELECT 1"))
            await asyncio.sleep(0.01)

    try:
        await asyncio.gather(*(work() for _ in range(2 * DEFAULT_POOL_SIZE)))
        warm = opened
        assert 0 < warm <= DEFAULT_POOL_SIZE
        for _ in range(5):
            await asyncio.gather(*(work() for _ in range(2 * DEFAULT_POOL_SIZE)))
            await asyncio.gather(*(reads() for _ in range(2 * DEFAULT_POOL_SIZE)))
        assert opened <= DEFAULT_POOL_SIZE
        assert db.engine.pool.checkedin() == opened
    finally:
        await db.dispose()
