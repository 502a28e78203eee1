"""The suite's backends and where they run: shared by the root conftest and the harnesses."""

from __future__ import annotations

import os

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": os.environ.get(
        "TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/test"),
}
#: In CI every backend must run: an unreachable one fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
