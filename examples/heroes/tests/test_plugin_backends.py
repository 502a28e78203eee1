"""The plugin-based tests (plugin/) on each database server: a fresh pytest process runs
that directory with `--db-url`, as a user points the plugin at PostgreSQL or MariaDB.
In this process they run on the plugin's default, in-memory SQLite.

The servers are conftest.py's (`server_url`): an unreachable one is skipped locally and
fails in CI (CI=true), as in the rest of these tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PLUGIN_TESTS = Path(__file__).parent / "plugin"
ROOT = Path(__file__).resolve().parents[3]
#: A guard against a hung server, far above a run's few seconds.
TIMEOUT_SECONDS = 300


def test_the_plugin_tests_pass_on_the_server(server_url: str) -> None:
    url = server_url
    # --db-url wins over the variable; drop it anyway so nothing else is picked up.
    env = {key: value for key, value in os.environ.items() if key != "SQLMODEL_ASYNC_TEST_URL"}
    command = [
        sys.executable, "-m", "pytest", str(PLUGIN_TESTS),
        "-p", "no:cacheprovider", "-q", "-rfEs", "--db-url", url,
        # Plugins these tests do not use: a few seconds less start-up per run.
        "-p", "no:schemathesis", "-p", "no:hypothesispytest",
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    # Every test ran and passed: nothing skipped, deselected or failed.
    assert re.fullmatch(r"\d+ passed in [\d.]+s.*", summary), output
