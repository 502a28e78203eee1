"""The suite's backends, where they run, and the rule for one that cannot be reached: it is
skipped locally and fails in CI (CI=true), so nothing is skipped silently there.

TEST_POSTGRESQL_URL / TEST_MARIADB_URL point the suite at other databases (parallel runs
use one database each).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, NoReturn

import pytest
from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    from sqlmodel_async import Database

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": os.environ.get(
        "TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/test"),
}
#: In CI every backend must run: an unreachable one fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable(url: str | URL, default_port: int = 0) -> bool:
    """True when something listens at the URL's host and port."""
    parsed = make_url(url)
    try:
        with socket.create_connection(
            (parsed.host or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def unavailable(message: str, in_ci: str) -> NoReturn:
    """Skip the test locally; in CI fail it, `in_ci` saying what CI runs."""
    if IN_CI:
        pytest.fail(f"{message} ({in_ci})")
    pytest.skip(message)


def only(db: Database, *names: str) -> None:
    """Skip the test unless `db` runs on one of the backends named (Backend.name)."""
    if db.backend.name not in names:
        pytest.skip(f"not applicable to {db.backend.name}")
