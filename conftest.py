"""The whole repository's pytest setup: every integration test runs on SQLite, PostgreSQL
and MariaDB (the fixtures live in tests/support/), and `make test-fast` leaves out the
modules marked slow or subprocess here.
"""

from __future__ import annotations

# The drivers are imported before any test runs: pytester (the plugin tests) drops the
# modules a test imported when the test ends, and a C extension such as asyncpg's
# protocol, imported a second time in one process, crashes it at the next connection.
import aiosqlite  # noqa: F401
import asyncmy  # noqa: F401
import asyncpg  # noqa: F401
import pytest

#: The suite's fixtures: the backends and their Databases, and the PostgreSQL replica and
#: PgBouncer harness (started only by the tests that ask for them).
pytest_plugins = ("tests.support.fixtures", "tests.support.pg_cluster")


# --- markers: `make test-fast` leaves out what is slow or starts processes ------------------

#: Test modules that start processes (servers, clusters, pytest runs, the CLI).
_SUBPROCESS_MODULES = frozenset({
    "test_bulk_plugin.py", "test_cli.py", "test_docs.py", "test_faults_restart.py",
    "test_hostile_serve.py", "test_migrations.py", "test_pgbouncer.py",
    "test_plugin_backends.py", "test_replicas.py", "test_serve_secrets.py",
    "test_testing_plugin.py", "test_wheel.py", "test_workers.py",
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
