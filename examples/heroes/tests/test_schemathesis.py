"""Generated requests against the Heroes OpenAPI schema (schemathesis): whatever a client
sends, valid or not, the service never answers with a 5xx.

Runs on every backend with a bounded number of examples per operation and mode.
The app gets a NullPool Database: schemathesis calls the ASGI app from its own event loop,
so connections must not be pooled across loops.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from heroes.api import create_app
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy.pool import NullPool

from sqlmodel_async import Database

MAX_EXAMPLES = 15  # per operation and generation mode: bounded for CI


@pytest.fixture
async def api_schema(db: Database) -> AsyncIterator[Any]:
    service_db = Database(db.engine.url, poolclass=NullPool)
    app = without_lifespan(create_app(database=service_db))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    await service_db.dispose()


def without_lifespan(app: Any) -> Any:
    """The app with its start-up step skipped: schemathesis's test client runs the lifespan
    around every call, and the service's checks the migration history, which the suite's
    shared database (tables made by create_all) does not have."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped


def test_no_server_errors(api_schema: Any) -> None:
    cases = 0
    failures: dict[str, str] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: schemathesis.Case) -> None:
                nonlocal cases
                cases += 1
                response = case.call()
                if response.status_code >= 500:
                    key = f"{case.operation.label} -> {response.status_code}"
                    repro = f"{case.as_curl_command()}\n  {response.text[:300]}"
                    failures.setdefault(key, repro)

            # Unsatisfiable: nothing to make invalid (an operation without parameters)
            with contextlib.suppress(Unsatisfiable):
                call()
    print(f"\nschemathesis: {cases} cases, {len(failures)} distinct server errors")
    assert not failures, "\n".join(f"{key}\n  {repro}" for key, repro in failures.items())
