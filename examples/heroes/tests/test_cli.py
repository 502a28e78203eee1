"""The `heroes` command, run as a user runs it: a subprocess with DATABASE_URL set."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
from heroes.models import Hero

from sqlmodel_async import Database, Repository

HEROES = str(Path(sys.executable).with_name("heroes"))
SEED_MAIN_LINES = [
    "Created hero: Superman",
    "Created hero: Batman",
    "Created hero: Wonder Woman",
    "Retrieved 3 heroes",
    "Updated hero power: Superman - 105.0",
    "Found Batman: Bruce Wayne",
]


async def heroes_command(*args: str, database_url: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        HEROES,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_demo_prints_the_seed_lines_and_reruns(db: Database, backend_url: str) -> None:
    """The seed's complete example, through the library, on this backend; a second
    run on the same database prints the same lines and leaves other heroes alone."""
    async with db.transaction() as session:
        await Repository(Hero, session).create(Hero(name="Deadpond", secret_name="Dive"))
    for _ in range(2):
        code, out, err = await heroes_command("demo", database_url=backend_url)
        assert code == 0, err
        assert out.splitlines() == SEED_MAIN_LINES
    async with db.session() as session:
        names = {hero.name: hero for hero in await Repository(Hero, session).list()}
    assert sorted(names) == ["Batman", "Deadpond", "Superman", "Wonder Woman"]
    assert names["Superman"].power_level == 105.0


async def test_demo_creates_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    code, out, err = await heroes_command("demo", database_url=url)
    assert code == 0, err
    assert out.splitlines() == SEED_MAIN_LINES
    assert (tmp_path / "demo.db").exists()


async def test_a_wrong_database_url_is_one_clear_line() -> None:
    for url in ("nosuchdb://x/y", "postgresql://postgres@127.0.0.1:1/heroes"):
        code, out, err = await heroes_command("demo", database_url=url)
        assert code == 1, url
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: ") and "Traceback" not in err


async def test_help_has_examples() -> None:
    for command in ("serve", "demo"):
        code, out, _ = await heroes_command(command, "--help", database_url="sqlite://")
        assert code == 0 and "Example" in out


async def test_serve_creates_the_schema_and_answers(tmp_path: Path) -> None:
    """`heroes serve` on a SQLite file that does not exist yet: tables are created at
    start and the tutorial's endpoints answer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"}
    process = await asyncio.create_subprocess_exec(
        HEROES,
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(240):  # bounded: up to a minute on a busy machine
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.25)
            assert (await client.get("/docs")).status_code == 200
            assert (await client.get("/heroes/")).json() == []
            created = await client.post("/heroes/", json={"name": "Deadpond", "secret_name": "D"})
            assert created.status_code == 200
            assert (await client.get("/ready")).status_code == 200
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)
