from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sqlmodel_async import Database

from .models import metadata


@pytest.fixture
async def db(databases) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    """A Database on the current backend with the suite's tables, empty for each test."""
    database = await databases.open(metadata)
    yield database
    await databases.empty(database)
