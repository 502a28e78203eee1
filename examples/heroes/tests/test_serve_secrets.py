"""The cursor secret at start: `heroes serve --workers N` (N > 1) needs a shared one, and a
secret shorter than 16 bytes is refused whichever variable carries it, before the service
answers anything (otherwise each worker signs with its own key and refuses the others'
cursors, or every cursor request fails)."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from pathlib import Path

import pytest
from heroes.api.server import create_served_app
from heroes.settings import Settings

from sqlmodel_async import ConfigurationError
from sqlmodel_async.pagination import CURSOR_SECRET_ENV

HEROES = str(Path(sys.executable).with_name("heroes"))
GOOD = "a-secret-of-more-than-sixteen-bytes"


@pytest.fixture(autouse=True)
def no_secret_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CURSOR_SECRET", raising=False)
    monkeypatch.delenv(CURSOR_SECRET_ENV, raising=False)


async def serve(tmp_path: Path, *args: str, **env: str) -> tuple[int | None, str]:
    """`heroes serve ARGS` with only `env`'s secrets set: its exit code and stderr, or
    (None, its stderr) if it was still running after two minutes (it started; importing
    the service alone can take half a minute on a busy machine)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("CURSOR_SECRET", CURSOR_SECRET_ENV)
    }
    environment.update(env, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}")
    process = await asyncio.create_subprocess_exec(
        HEROES, "serve", "--port", "0", *args,
        env=environment, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), timeout=120)
        return process.returncode, err.decode()
    except TimeoutError:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
        return None, err.decode()


async def test_several_workers_without_a_secret_refuse_to_start(tmp_path: Path) -> None:
    code, err = await serve(tmp_path, "--workers", "2")
    assert code == 1
    assert err.startswith("error: 2 workers need a shared cursor secret: set CURSOR_SECRET")
    assert "Traceback" not in err


@pytest.mark.parametrize("variable", ["CURSOR_SECRET", CURSOR_SECRET_ENV])
async def test_a_short_secret_refuses_to_start(tmp_path: Path, variable: str) -> None:
    code, err = await serve(tmp_path, **{variable: "short"})
    assert code == 1
    assert err.startswith(f"error: {variable} is too short")
    assert "Traceback" not in err


def test_the_settings_check() -> None:
    assert Settings(cursor_secret=GOOD).check_cursor_secret(workers=4) is None
    warning = Settings().check_cursor_secret(workers=1)
    assert warning is not None and "CURSOR_SECRET is not set" in warning
    with pytest.raises(ConfigurationError, match="2 workers need a shared cursor secret"):
        Settings().check_cursor_secret(workers=2)
    with pytest.raises(ConfigurationError, match="CURSOR_SECRET is too short"):
        Settings(cursor_secret="x" * 15).check_cursor_secret()


def test_the_library_variable_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CURSOR_SECRET_ENV, GOOD)
    assert Settings().check_cursor_secret(workers=2) is None  # shared by every worker
    monkeypatch.setenv(CURSOR_SECRET_ENV, "x" * 15)
    with pytest.raises(ConfigurationError, match=f"{CURSOR_SECRET_ENV} is too short"):
        Settings().check_cursor_secret()
    # A worker started without the command (uvicorn's factory) refuses it as well.
    thresholds = gc.get_threshold()  # the factory tunes the collector for serving
    try:
        with pytest.raises(ConfigurationError, match="too short"):
            create_served_app()
    finally:
        gc.set_threshold(*thresholds)
