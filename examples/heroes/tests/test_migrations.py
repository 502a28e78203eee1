"""The Heroes migrations on every backend, through `heroes db ...` as a user runs it.

Each test starts from an empty database: on PostgreSQL and MariaDB a database of its own
next to the suite's (`<name>_migrations`), emptied of every table (alembic_version too)
before each test, so the suite's other tables never meet the comparison.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from heroes.api import create_app
from heroes.cli import app
from heroes.migrations import (
    MIGRATIONS_DIR,
    SchemaError,
    current_revision,
    head_revision,
    heroes_metadata,
    prepare_schema,
    schema_differences,
)
from heroes.migrations.runner import alembic_config
from heroes.settings import Settings
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from sqlmodel_async import Database

HEROES = str(Path(sys.executable).with_name("heroes"))
HERO_TABLES = {"team", "hero", "item", "transferlog"}


async def run(*args: str, url: str) -> tuple[int, str, str]:
    """`heroes ARGS` as typer runs it, on a thread (the command runs its own event loop)."""
    result = await asyncio.to_thread(
        CliRunner().invoke, app, [*args, "--database-url", url], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


async def run_changed(commands: list[list[str]], *, url: str, setup: str) -> list[Any]:
    """`heroes` COMMANDS one after the other in a subprocess that first runs `setup` (to
    change the models, or where the migrations live) without touching this process.
    Returns [exit code, stdout, stderr] per command."""
    script = textwrap.dedent(f"""
        import json, sys
        {textwrap.indent(textwrap.dedent(setup), "        ").strip()}
        from heroes.cli import app
        from typer.testing import CliRunner
        results = []
        for args in {commands!r}:
            result = CliRunner().invoke(app, [*args, "--database-url", {url!r}])
            results.append([result.exit_code, result.stdout, result.stderr])
        sys.stdout.write(json.dumps(results))
    """)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0, err.decode()
    results: list[Any] = json.loads(out)
    return results


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def tables(url: str) -> set[str]:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(_table_names)
    finally:
        await database.dispose()


def _drop_everything(connection: Connection) -> None:
    metadata = MetaData()
    metadata.reflect(connection)
    metadata.drop_all(connection)


@pytest.fixture(scope="module")
async def server_database(backend_url: str) -> AsyncIterator[str | None]:
    """`<suite database>_migrations` on this server, created for this module, dropped after."""
    url = make_url(backend_url)
    if url.get_backend_name() == "sqlite":
        yield None
        return
    name = f"{url.database}_migrations"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    quoted = f'"{name}"' if url.get_backend_name() == "postgresql" else f"`{name}`"
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
            await connection.execute(text(f"CREATE DATABASE {quoted}"))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
        await admin.dispose()


@pytest.fixture
async def empty_url(server_database: str | None, tmp_path: Path) -> str:
    """The URL of a database with no tables at all."""
    if server_database is None:
        return f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    database = Database(server_database)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_drop_everything)
    finally:
        await database.dispose()
    assert await tables(server_database) == set()
    return server_database


async def test_upgrade_creates_exactly_the_models_schema(empty_url: str) -> None:
    head = head_revision()
    code, out, _ = await run("db", "current", url=empty_url)
    assert code == 0 and out.strip() == f"base (head is {head})"
    # Not migrated yet: check fails, with one line that says what to run.
    code, out, err = await run("db", "check", url=empty_url)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "heroes db upgrade" in err

    code, out, err = await run("db", "upgrade", url=empty_url)
    assert code == 0, err
    assert await tables(empty_url) == HERO_TABLES | {"alembic_version"}
    code, out, _ = await run("db", "current", url=empty_url)
    assert code == 0 and out.strip() == f"{head} (head)"
    code, out, err = await run("db", "check", url=empty_url)
    assert code == 0, err
    # The same comparison in this process: autogenerate finds nothing to change.
    database = Database(empty_url)
    try:
        assert await schema_differences(database) == []
        assert await current_revision(database) == head
    finally:
        await database.dispose()


async def test_downgrade_to_base_leaves_no_tables_and_upgrade_works_again(
    empty_url: str,
) -> None:
    assert (await run("db", "upgrade", url=empty_url))[0] == 0
    code, out, err = await run("db", "downgrade", "base", url=empty_url)
    assert code == 0, err
    assert out.strip() == "at base"
    assert await tables(empty_url) == set()
    code, _, err = await run("db", "upgrade", url=empty_url)
    assert code == 0, err
    assert (await run("db", "check", url=empty_url))[0] == 0
    # One step down with `-1` (a revision, not an option), then nothing left to revert.
    assert (await run("db", "downgrade", "-1", url=empty_url))[0] == 0
    assert (await run("db", "downgrade", "base", url=empty_url))[0] == 0
    code, out, err = await run("db", "downgrade", "-1", url=empty_url)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1


async def test_check_fails_when_the_models_change(empty_url: str) -> None:
    assert (await run("db", "upgrade", url=empty_url))[0] == 0
    nickname = """
        import sqlalchemy as sa, heroes.models as m
        m.Hero.__table__.append_column(sa.Column("nickname", sa.String(50)))
    """
    [[code, out, err]] = await run_changed([["db", "check"]], url=empty_url, setup=nickname)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        "error: the models and the migrations differ (1 change: add_column hero.nickname): "
        "run `heroes db revision --autogenerate -m MESSAGE`"
    ]
    # The models as shipped still match.
    assert (await run("db", "check", url=empty_url))[0] == 0


async def insert_rows(database: Database) -> None:
    """A team, a hero on it and the hero's item."""
    async with database.engine.begin() as connection:
        for statement in (
            "INSERT INTO team (id, name, headquarters) VALUES (1, 'T', 'HQ')",
            "INSERT INTO hero (id, name, secret_name, team_id, power_level) "
            "VALUES (1, 'Deadpond', 'Dive Wilson', 1, 50)",
            "INSERT INTO item (id, name, hero_id) VALUES (1, 'Sword', 1)",
        ):
            await connection.exec_driver_sql(statement)


async def rows(database: Database) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT h.name, h.team_id, i.name FROM hero h JOIN item i ON i.hero_id = h.id"
        )
        return [tuple(row) for row in result]


async def test_autogenerated_revision_renders_sqlmodel_types_and_keeps_rows(
    empty_url: str, tmp_path: Path
) -> None:
    """A new column, autogenerated into a copy of the migrations: the file imports
    sqlmodel and writes AutoString, alters `hero` in batch mode (SQLite), applies on this
    backend, reverts, and keeps every row: on SQLite the batch rebuild drops `hero`, which
    with foreign keys on would delete every item (ON DELETE CASCADE) and unlink them."""
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    setup = f"""
        import sqlalchemy as sa, heroes.models as m
        from heroes.migrations import runner
        from sqlmodel.sql.sqltypes import AutoString
        runner.MIGRATIONS_DIR = {str(scripts)!r}
        m.Hero.__table__.append_column(sa.Column("nickname", AutoString(40), nullable=True))
    """
    assert (await run("db", "upgrade", url=empty_url))[0] == 0
    database = Database(empty_url)
    try:
        await insert_rows(database)
        revision, upgraded, checked, downgraded = await run_changed(
            [
                ["db", "revision", "--autogenerate", "-m", "hero nickname"],
                ["db", "upgrade"],
                ["db", "check"],
                ["db", "downgrade", "-1"],
            ],
            url=empty_url,
            setup=setup,
        )
        assert revision[0] == 0, revision[2]
        written = Path(revision[1].strip())
        assert written.parent == scripts / "versions"
        source = await asyncio.to_thread(written.read_text)
        assert "import sqlmodel.sql.sqltypes" in source
        assert "sqlmodel.sql.sqltypes.AutoString(length=40)" in source
        assert "batch_alter_table('hero'" in source or 'batch_alter_table("hero"' in source
        assert upgraded[0] == 0, upgraded[2]
        assert "Running upgrade 0003 -> " in upgraded[2]
        assert checked[0] == 0, checked[2]  # the new column is there
        assert downgraded[0] == 0, downgraded[2]
        assert await rows(database) == [("Deadpond", 1, "Sword")]
        assert (await run("db", "check", url=empty_url))[0] == 0
    finally:
        await database.dispose()


async def test_env_py_runs_on_its_own_event_loop(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alembic's command API with no connection handed over: env.py opens the service's
    Database (DATABASE_URL) on its own loop with asyncio.run, and disposes it."""
    monkeypatch.setenv("DATABASE_URL", empty_url)
    await asyncio.to_thread(command.upgrade, alembic_config(), "head")
    assert await tables(empty_url) == HERO_TABLES | {"alembic_version"}
    await asyncio.to_thread(command.downgrade, alembic_config(), "base")
    assert await tables(empty_url) == {"alembic_version"}


# --- the service's start ----------------------------------------------------------------


async def start(url: str) -> None:
    """Run the app's lifespan (start and stop) on `url`."""
    app = create_app(Settings(database_url=url))
    try:
        async with app.router.lifespan_context(app):
            pass
    finally:
        await app.state.database.dispose()  # the lifespan disposes only once started


async def test_start_migrates_sqlite_and_checks_servers(empty_url: str) -> None:
    if empty_url.startswith("sqlite"):
        await start(empty_url)
        await start(empty_url)  # at head: nothing to do
        assert await tables(empty_url) == HERO_TABLES | {"alembic_version"}
        assert (await run("db", "check", url=empty_url))[0] == 0
        return
    # A server is migrated by `heroes db upgrade`, never by the service: it refuses to
    # start, in one line that says what to run.
    with pytest.raises(SchemaError, match=r"has no Heroes schema: run `heroes db upgrade`"):
        await start(empty_url)
    assert await tables(empty_url) == set()
    process = await asyncio.create_subprocess_exec(
        HEROES,
        "serve",
        "--port",
        "1",
        env={**os.environ, "DATABASE_URL": empty_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out_bytes, err_bytes = await asyncio.wait_for(process.communicate(), timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 1 and out_bytes == b""
    assert err.strip().splitlines() == [
        f"error: the database at {Database(empty_url).url} has no Heroes schema: "
        "run `heroes db upgrade`"
    ]
    assert (await run("db", "upgrade", url=empty_url))[0] == 0
    await start(empty_url)


async def test_concurrent_starts_on_a_new_sqlite_file_take_turns(tmp_path: Path) -> None:
    """Workers started together on a new SQLite file: one migrates, the others wait for
    its lock (BEGIN IMMEDIATE) and find the schema at head."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    databases = [Database(url) for _ in range(4)]
    try:
        await asyncio.gather(*(prepare_schema(database) for database in databases))
        assert await current_revision(databases[0]) == head_revision()
        assert await schema_differences(databases[0]) == []
    finally:
        for database in databases:
            await database.dispose()


async def test_an_unversioned_database_is_adopted_only_when_it_matches(
    empty_url: str,
) -> None:
    """A database created before the service had migrations (create_all) is stamped at
    head by `heroes db upgrade` when it matches the models, and refused when it does not."""
    database = Database(empty_url, metadata=heroes_metadata())
    try:
        await database.create_all()
        async with database.engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO team (name, headquarters) VALUES ('T', 'HQ')"
            )
        code, _, err = await run("db", "upgrade", url=empty_url)
        assert code == 0, err
        assert await current_revision(database) == head_revision()
        async with database.engine.connect() as connection:
            count = await connection.exec_driver_sql("SELECT count(*) FROM team")
            assert count.scalar_one() == 1

        await database.drop_all()
        async with database.engine.begin() as connection:
            await connection.run_sync(_drop_everything)
            await connection.execute(text("CREATE TABLE team (id INTEGER PRIMARY KEY)"))
        code, out, err = await run("db", "upgrade", url=empty_url)
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1
        assert "no migration history" in err and "differ from the models" in err
        assert await tables(empty_url) == {"team"}
    finally:
        await database.dispose()
