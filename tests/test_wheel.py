"""A new user's first steps, as the getting-started guide gives them: build the wheel
(`make dist`), install it with its `fastapi` and `test` extras into a fresh virtual
environment outside the repository, and run a small app's tests with the pytest plugin on
SQLite, with no pytest configuration at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "test_user_app.py"

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installs_and_its_plugin_runs_a_users_tests(tmp_path: Path) -> None:
    uv = [sys.executable, "-m", "uv"]
    if shutil.which("uv") is None and subprocess.run(
        [*uv, "--version"], capture_output=True, check=False
    ).returncode != 0:
        pytest.skip("uv is not installed (make install brings it)")
    dist = tmp_path / "dist"
    run(*uv, "build", "--wheel", "--out-dir", dist, ROOT, cwd=tmp_path)
    wheels = list(dist.glob("sqlmodel_async-*.whl"))
    assert len(wheels) == 1, wheels

    venv = tmp_path / "venv"
    run(*uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(*uv, "pip", "install", "--quiet", "--python", python, f"{wheels[0]}[fastapi,test]",
        cwd=tmp_path)

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLE, project / "test_user_app.py")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.pop("SQLMODEL_ASYNC_TEST_URL", None)
    env.pop("PYTHONPATH", None)
    output = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env)
    assert " passed" in output and "failed" not in output, output

    # The library came from the wheel, not from this checkout.
    where = run(python, "-c", "import sqlmodel_async; print(sqlmodel_async.__file__)",
                cwd=project, env=env)
    assert str(venv) in where, where
