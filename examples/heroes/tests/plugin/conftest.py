"""The Heroes service tested as a user of sqlmodel-async tests an app: through the library's
pytest plugin (`sqlmodel_async.testing`, docs/testing.md) instead of the suite's harness.

The plugin gives `database` (from --db-url / $SQLMODEL_ASYNC_TEST_URL, default in-memory
SQLite), `session` (rolled back after each test) and `assert_max_queries`; this file adds the
one fixture it asks of a user, `app`. The parent directory's conftest defines a harness
`client` of its own, which would win over the plugin's here: the plugin's is taken back.
"""

from __future__ import annotations

import heroes.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import pytest
from fastapi import FastAPI
from heroes.api import create_app

from sqlmodel_async import Database, testing

# The plugin's client (requests join the test's transaction), over ../conftest.py's.
client = testing.client


@pytest.fixture
def app(database: Database) -> FastAPI:
    # Built on the test `database`: the notifier keeps its own reference to it, which the
    # client's `app.state.database` swap would not reach.
    return create_app(database=database)
