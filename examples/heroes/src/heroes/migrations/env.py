"""Alembic's entry point for the Heroes migrations: async, on the library's `Database`.

`heroes db ...` and the service's start (heroes.migrations.runner) open the connection on
their own event loop and hand it over in `config.attributes["connection"]`. Run any other
way (Alembic's own `command` API with `config.attributes["database"]`, or nothing: the
service's settings, DATABASE_URL), this file opens one itself with `asyncio.run`.
"""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from heroes.migrations.runner import context_options, migration_connection
from heroes.settings import Settings

config = context.config


def run_migrations_offline() -> None:
    """`--sql`: print the SQL for the database URL's dialect instead of running it."""
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    context.configure(url=url, literal_binds=True, **context_options())
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **context_options())
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    given = config.attributes.get("database")
    database = given if given is not None else Settings().database()
    try:
        async with migration_connection(database) as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        # The pool's connections belong to this event loop, which asyncio.run closes.
        await database.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
