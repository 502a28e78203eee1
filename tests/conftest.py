"""The library's tests get a Database on the current backend, its tables empty for each test:
`db` (tests/models.py), `wdb` and `rdb`. The fixtures and helpers the test modules share
live in tests/support/."""

from __future__ import annotations

from . import relations_models, write_models
from .models import metadata
from .support.databases import database_fixture

#: The suite's main tables (tests/models.py).
db = database_fixture(metadata)
#: The tables of single-row and set writes (tests/write_models.py).
wdb = database_fixture(write_models.metadata)
#: The tables of relationship reads and link writes (tests/relations_models.py).
rdb = database_fixture(relations_models.metadata)
