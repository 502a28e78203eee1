"""Run the Heroes migrations on a `Database`, from async code (the service's start) or
through `asyncio.run` (the `heroes db` commands).

Every command runs on one connection, in one transaction (`migration_connection`). That
transaction begins as the backend begins writes (SQLite: IMMEDIATE, so workers starting
together take turns instead of racing to migrate). Where the backend says migrations need
foreign keys off (SQLite: a batch migration rebuilds a table by copying it and dropping the
original, and with foreign keys on, dropping `hero` would delete every item (ON DELETE
CASCADE) and unlink every transfer), it runs with them off, and a foreign-key check before
the commit refuses a migration that leaves a dangling reference instead.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, Table, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from sqlmodel_async import Database
from sqlmodel_async.dialects import ForeignKeySwitch

MIGRATIONS_DIR = Path(__file__).resolve().parent
UPGRADE_HINT = "run `heroes db upgrade`"
VERSION_TABLE = "alembic_version"

logger = logging.getLogger("heroes.migrations")
T = TypeVar("T")


class SchemaError(Exception):
    """The database's schema is not the one this version of the service needs."""


# --- what Alembic compares and renders ----------------------------------------------------


def heroes_metadata() -> MetaData:
    """The service's tables, and only those: `SQLModel.metadata` also holds the tables of
    any other module in the process that defines SQLModel table models."""
    import heroes.models  # noqa: F401  (defines the tables)

    metadata = MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for model in _table_models(SQLModel):
        if model.__module__.startswith("heroes.") and model.__tablename__ not in metadata.tables:
            vars(model)["__table__"].to_metadata(metadata)
    return metadata


def _table_models(base: type[SQLModel]) -> Iterator[type[SQLModel]]:
    for model in base.__subclasses__():
        if "__table__" in vars(model):
            yield model
        yield from _table_models(model)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Import the module of the library's column types (UTCDateTime) in the revisions that
    use them; Alembic's default rendering writes the dotted name but not the import."""
    module = type(obj).__module__
    if type_ == "type" and module.startswith("sqlmodel_async"):
        autogen_context.imports.add(f"import {module}")
    return False


def context_options() -> dict[str, Any]:
    """`context.configure` options shared by env.py and `schema_differences`."""
    return {
        "target_metadata": heroes_metadata(),
        # SQLite alters a table by rebuilding it; the other backends ignore this.
        "render_as_batch": True,
        "compare_type": True,
        "render_item": _render_item,
    }


def alembic_config(
    database: Database | None = None, connection: Connection | None = None
) -> Config:
    """An Alembic `Config` for the packaged scripts (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if database is not None:
        config.attributes["database"] = database
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# --- the connection every command runs on -------------------------------------------------


@asynccontextmanager
async def migration_connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that commits when the block ends without error."""
    switch = database.backend.foreign_key_switch
    async with database.engine.connect() as connection:
        if switch is not None:
            await _outside_transaction(connection, switch.off)
        try:
            await connection.execution_options(**database.backend.write_options)
            await connection.begin()
            yield connection
            if switch is not None:
                await _check_foreign_keys(connection, switch)
            await connection.commit()
        finally:
            if connection.in_transaction():
                await connection.rollback()
            if switch is not None:
                await _outside_transaction(connection, switch.on)


async def _outside_transaction(connection: AsyncConnection, statement: str) -> None:
    # On the driver's connection, outside any transaction: SQLite ignores the foreign-key
    # switch inside one, and SQLAlchemy would begin one before running it.
    driver_connection: Any = (await connection.get_raw_connection()).driver_connection
    cursor = await driver_connection.execute(statement)
    await cursor.close()


async def _check_foreign_keys(connection: AsyncConnection, switch: ForeignKeySwitch) -> None:
    broken = (await connection.exec_driver_sql(switch.check)).all()
    if broken:
        raise SchemaError(
            f"the migration would leave {len(broken)} rows referring to missing rows "
            f"(first in table {broken[0][0]}); nothing was changed"
        )


async def _run(database: Database, action: Callable[[Config], T]) -> T:
    async with migration_connection(database) as connection:
        return await connection.run_sync(lambda sync: action(alembic_config(database, sync)))


# --- commands -----------------------------------------------------------------------------


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaError("the service has no migrations")
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _differences(connection: Connection) -> list[Any]:
    options = context_options()
    metadata = options.pop("target_metadata")
    return list(compare_metadata(MigrationContext.configure(connection, opts=options), metadata))


async def current_revision(database: Database) -> str | None:
    """The revision the database is at; None before the first upgrade."""
    async with database.engine.connect() as connection:
        return await connection.run_sync(_current)


async def schema_differences(database: Database) -> list[Any]:
    """What autogenerate would change to make the database match the models ([] = same)."""
    async with database.engine.connect() as connection:
        return await connection.run_sync(_differences)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Apply the migrations up to `revision`.

    A database the service created before it had migrations (create_all: its tables, no
    alembic_version) is adopted: stamped at head when its schema matches the models,
    refused with SchemaError when it does not.
    """

    def run(config: Config) -> None:
        connection: Connection = config.attributes["connection"]
        if revision == "head" and _current(connection) is None and _has_heroes_tables(connection):
            changes = _differences(connection)
            if changes:
                raise SchemaError(
                    "the database has the service's tables but no migration history, and "
                    f"they differ from the models ({_summary(changes)}): migrate it by hand"
                )
            command.stamp(config, "head")
            logger.warning("adopted an unversioned database whose schema matches the models")
            return
        command.upgrade(config, revision)

    await _run(database, run)


async def downgrade(database: Database, revision: str) -> None:
    """Revert the migrations down to `revision`. At base the database is as before the
    first upgrade: none of the service's tables, and no alembic_version either."""

    def run(config: Config) -> None:
        command.downgrade(config, revision)
        connection: Connection = config.attributes["connection"]
        if _current(connection) is None:
            Table(VERSION_TABLE, MetaData()).drop(connection, checkfirst=True)

    await _run(database, run)


async def check(database: Database) -> None:
    """Raise SchemaError unless the database is at head and matches the models."""
    await _require_head(database)
    changes = await schema_differences(database)
    if changes:
        raise SchemaError(
            f"the models and the migrations differ ({_summary(changes)}): "
            "run `heroes db revision --autogenerate -m MESSAGE`"
        )


async def revision(database: Database, message: str, *, autogenerate: bool) -> list[Path]:
    """Write a new revision file into versions/; returns its path."""

    def run(config: Config) -> list[Path]:
        _tidy_with_ruff(config)
        written = command.revision(config, message=message, autogenerate=autogenerate)
        scripts = written if isinstance(written, list) else [written]
        return [Path(script.path) for script in scripts if script is not None]

    if autogenerate:
        await _require_head(database)
    return await _run(database, run)


def _tidy_with_ruff(config: Config) -> None:
    """Where ruff is installed (development), sort the new file's imports, drop the noqa
    its template needs only when SQLModel types are unused, and format it."""
    ruff = Path(sys.executable).with_name("ruff")
    executable = str(ruff) if ruff.exists() else shutil.which("ruff")
    if executable is None:
        return
    hooks = {
        "fix": "check --fix --exit-zero --silent REVISION_SCRIPT_FILENAME",
        "format": "format --silent REVISION_SCRIPT_FILENAME",
    }
    config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
    for name, options in hooks.items():
        config.set_section_option("post_write_hooks", f"{name}.type", "exec")
        config.set_section_option("post_write_hooks", f"{name}.executable", executable)
        config.set_section_option("post_write_hooks", f"{name}.options", options)


async def prepare_schema(database: Database) -> None:
    """The service's start. On an embedded database (SQLite, the default) apply pending
    migrations.

    On a database server, migrating is a deploy step (`heroes db upgrade`), not something
    each worker of each instance should race to do: check that the schema is at head and
    raise SchemaError, which says what to run, if it is not.
    """
    if database.backend.embedded:
        await upgrade(database)
        return
    current = await current_revision(database)
    if current is None and not await schema_differences(database):
        logger.warning("the database has no migration history: %s to record it", UPGRADE_HINT)
        return
    await _require_head(database, current)


async def _require_head(database: Database, current: str | None = None) -> None:
    current = current or await current_revision(database)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaError(f"the database at {database.url} has no Heroes schema: {UPGRADE_HINT}")
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except CommandError:
        raise SchemaError(
            f"the database at {database.url} is at revision {current}, which this version "
            "of the service does not know (a newer version migrated it)"
        ) from None
    raise SchemaError(
        f"the database at {database.url} is at revision {current}, the service needs "
        f"{head}: {UPGRADE_HINT}"
    )


def _has_heroes_tables(connection: Connection) -> bool:
    existing = set(inspect(connection).get_table_names())
    return bool(existing & set(heroes_metadata().tables))


def _summary(changes: list[Any]) -> str:
    """`add_column hero.x, remove_table author`: the changes, for a one-line message."""
    names = []
    for change in changes:
        if isinstance(change, list):  # a column modification: [(op, schema, table, column, ...)]
            op, _schema, table, column = change[0][:4]
            names.append(f"{op} {table}.{column}")
        elif change[0] in ("add_column", "remove_column"):
            names.append(f"{change[0]} {change[2]}.{change[3].name}")
        else:
            target = change[1]  # a table, an index or a constraint (named after its table)
            name = getattr(target, "name", None) or getattr(target.table, "name", "")
            names.append(f"{change[0]} {name}".strip())
    shown = ", ".join(names[:5])
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {shown}{more}"
