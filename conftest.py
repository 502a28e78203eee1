"""Backends for the whole suite: every integration test runs on SQLite, PostgreSQL and
MariaDB. A backend that cannot be reached is skipped locally and fails in CI (CI=true).

TEST_POSTGRESQL_URL / TEST_MARIADB_URL point the suite at other databases (parallel runs
use one database each).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import MetaData, delete
from sqlalchemy.engine import make_url

from sqlmodel_async import Database
from tests.backends import BACKENDS, IN_CI, SERVER_URLS


def _reachable(url: str) -> bool:
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 0), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of one backend; tests that use it run once per backend."""
    name: str = request.param
    if name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    url = SERVER_URLS[name]
    if not _reachable(url):
        message = f"{name} is not reachable at {make_url(url).render_as_string()}"
        if IN_CI:
            pytest.fail(message + " (CI runs every backend)")
        pytest.skip(message)
    return url


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


@pytest.fixture(scope="session")
async def databases(backend_url: str) -> AsyncIterator[Databases]:
    """Databases on the current backend: `await databases.open(metadata)`."""
    opened = Databases(backend_url)
    yield opened
    await opened.close()


def backend_name(database: Database) -> str:
    """sqlite, postgresql or mariadb: the name the suite's parameters use."""
    return "mariadb" if database.backend.name == "mysql" else database.backend.name


# --- markers: `make test-fast` leaves out what is slow or starts processes ------------------

#: Test modules that start processes (servers, clusters, pytest runs, the CLI).
_SUBPROCESS_MODULES = frozenset({
    "test_cli.py", "test_docs.py", "test_faults_restart.py", "test_migrations.py",
    "test_pgbouncer.py", "test_plugin_backends.py", "test_replicas.py", "test_testing_plugin.py",
    "test_wheel.py", "test_workers.py",
})
#: Test modules that take long for other reasons (generated input, faults, concurrency).
_SLOW_MODULES = frozenset({
    "test_schemathesis.py", "test_faults.py", "test_faults_connections.py",
    "test_faults_transfers.py", "test_concurrency.py", "test_concurrency_api.py",
})

#: Single tests that move 100k rows or replay the seed's slow loops.
_SLOW_TESTS = frozenset({
    "test_seed_updates_inside_the_reading_session", "test_delete_many_100k_ids",
    "test_seed_loop_skips_rows_removed_while_processing",
    "test_get_many_100k_keys_within_the_parameter_limit",
    "test_seed_unchunked_in_list_fails_past_the_driver_limit",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.name
        if module in _SUBPROCESS_MODULES:
            item.add_marker(pytest.mark.subprocess)
            item.add_marker(pytest.mark.slow)
        elif module in _SLOW_MODULES or getattr(item, "originalname", "") in _SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
