"""Databases on the run's backend: each metadata's tables made once per run, emptied after
each test, and `database_fixture`, the one way a test module gets such a Database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import MetaData, delete

from sqlmodel_async import Database


class Databases:
    """Opens one Database per metadata on the session's backend, with fresh tables, and
    empties them between tests. Disposed when the run ends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._open: dict[int, Database] = {}

    async def open(self, metadata: MetaData) -> Database:
        database = self._open.get(id(metadata))
        if database is None:
            database = Database(self.url, metadata=metadata)
            await database.drop_all()
            await database.create_all()
            self._open[id(metadata)] = database
        return database

    @staticmethod
    async def empty(database: Database) -> None:
        """Delete every row of the Database's tables (children first)."""
        async with database.engine.begin() as connection:
            for table in reversed(database.metadata.sorted_tables):
                await connection.execute(delete(table))

    async def close(self) -> None:
        for database in self._open.values():
            await database.dispose()


Seed = Callable[[Database], Awaitable[object]]


def database_fixture(
    metadata: MetaData, *, seed: Seed | None = None, empty_first: bool = False
) -> Any:
    """A fixture giving a Database on the current backend with `metadata`'s tables, emptied
    after the test: `db = database_fixture(metadata)` at a module's top level, under the
    fixture name tests ask for.

    `seed(database)` fills the tables before the test. `empty_first` empties them before it
    too, for metadata that tests outside this suite fill (SQLModel.metadata, shared with
    the Heroes tests).
    """

    @pytest.fixture
    async def fixture(databases: Databases) -> AsyncIterator[Database]:
        database = await databases.open(metadata)
        if empty_first:
            await databases.empty(database)
        if seed is not None:
            await seed(database)
        yield database
        await databases.empty(database)

    return fixture
