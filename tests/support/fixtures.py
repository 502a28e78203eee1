"""The suite's session fixtures, loaded by the root conftest (so the Heroes tests share them):
`backend_url` runs each test that uses it once per backend; `databases` opens Databases there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from .backends import BACKENDS, SERVER_URLS, reachable, unavailable
from .databases import Databases


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of one backend; tests that use it run once per backend."""
    name: str = request.param
    if name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    url = SERVER_URLS[name]
    if not reachable(url):
        unavailable(
            f"{name} is not reachable at {make_url(url).render_as_string()}",
            "CI runs every backend",
        )
    return url


@pytest.fixture(scope="session")
async def databases(backend_url: str) -> AsyncIterator[Databases]:
    """Databases on the current backend: `await databases.open(metadata)`."""
    opened = Databases(backend_url)
    yield opened
    await opened.close()
