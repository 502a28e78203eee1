"""Generated requests against the Heroes OpenAPI schema (schemathesis): whatever a client
sends, the service answers with a status its schema allows, never a 5xx.

Runs on SQLite and PostgreSQL with a bounded number of examples per operation. The app
gets a NullPool Database: schemathesis calls the ASGI app from its own event loop, so
connections must not be pooled across loops.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from heroes.api import create_app
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    status_code_conformance,
)
from sqlalchemy.pool import NullPool

from sqlmodel_async import Database

MAX_EXAMPLES = 25  # per operation and backend: bounded for CI


@pytest.fixture
async def api_schema(db: Database) -> Any:
    if db.backend.name == "mysql":
        pytest.skip("the schemathesis suite runs on SQLite and PostgreSQL")
    service_db = Database(db.engine.url, poolclass=NullPool)
    app = create_app(database=service_db)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    await service_db.dispose()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[schemathesis.checks.not_a_server_error],
        excluded_checks=[negative_data_rejection, status_code_conformance],
    )
