"""The docs' promises: every example runs on every backend, the Markdown shows each example
file exactly as it is, the patterns guide answers every function of the seed documents, and
a user's code on the public API (tests/typing/, docs/examples/) passes `mypy --strict`.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import cast

import heroes.models  # noqa: F401  (the examples' tables, on SQLModel.metadata)
import pytest
from sqlmodel import SQLModel

from sqlmodel_async import Database

from .support.databases import database_fixture

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
SEEDS = ROOT.parent / "shared" / "seeds"

#: Our guides: every ```python block in them must be an example file, shown whole.
GUIDES = [
    "index.md", "getting-started.md", "patterns.md", "reads.md", "writes.md", "fastapi.md",
    "relationships.md", "filters.md", "text.md", "bulk.md", "benchmarks.md",
]
#: Example files that are not `main(db)` scripts (the testing guide's pytest file runs in
#: tests/test_testing_plugin.py).
NOT_SCRIPTS = {"test_user_app.py"}
SCRIPTS = sorted(
    path.name for path in EXAMPLES.glob("*.py") if path.name not in NOT_SCRIPTS
)

MARKER = re.compile(r"<!-- example: (?P<path>[^ ]+) -->\s*\n```python\n(?P<code>.*?)```", re.S)
PYTHON_BLOCK = re.compile(r"^```python\n", re.M)

SEED_MAIN_LINES = [
    "Created hero: Superman",
    "Created hero: Batman",
    "Created hero: Wonder Woman",
    "Retrieved 3 heroes",
    "Updated hero power: Superman - 105.0",
    "Found Batman: Bruce Wayne",
]


def load_example(name: str) -> ModuleType:
    module_name = f"docs_example_{name.removesuffix('.py')}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


#: The Heroes tables on the current backend, empty before and after each example.
db = database_fixture(SQLModel.metadata, empty_first=True)


# --- the examples run --------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name in SCRIPTS if name != "service.py"])
async def test_example_runs(name: str, db: Database) -> None:
    """Each example's `main(db)` runs to the end; its own asserts state what it shows."""
    main = cast(Callable[[Database], Awaitable[None]], load_example(name).main)
    await main(db)


async def test_service_example_prints_the_seeds_lines(db: Database) -> None:
    """The seed's complete example (AsyncHeroService + main), replaced: the same output."""
    lines: list[str] = []
    await load_example("service.py").main(db, echo=lines.append)
    assert lines == SEED_MAIN_LINES


# --- the docs show the files -------------------------------------------------------------


def included_examples() -> dict[str, list[str]]:
    """Example path → the guides that include it."""
    found: dict[str, list[str]] = {}
    for guide in sorted(DOCS.glob("*.md")):
        for match in MARKER.finditer(guide.read_text()):
            found.setdefault(match["path"], []).append(guide.name)
    return found


def test_guides_exist_and_link_to_each_other() -> None:
    index = (DOCS / "index.md").read_text()
    for guide in [*GUIDES[1:], "testing.md", "deployment.md"]:
        assert (DOCS / guide).exists(), guide
        assert f"({guide})" in index, f"docs/index.md does not link {guide}"


@pytest.mark.parametrize("guide", sorted(path.name for path in DOCS.glob("*.md")))
def test_marked_blocks_equal_their_files(guide: str) -> None:
    """A block marked `<!-- example: docs/examples/x.py -->` is that file, byte for byte."""
    for match in MARKER.finditer((DOCS / guide).read_text()):
        path = ROOT / match["path"]
        assert path.is_file(), f"{guide} includes {match['path']}, which does not exist"
        assert match["code"] == path.read_text(), (
            f"{guide}: the block for {match['path']} differs from the file: copy the file in"
        )


@pytest.mark.parametrize("guide", GUIDES)
def test_every_python_block_of_a_guide_is_an_example_file(guide: str) -> None:
    text = (DOCS / guide).read_text()
    blocks = len(PYTHON_BLOCK.findall(text))
    marked = len(MARKER.findall(text))
    assert blocks == marked, f"{guide}: {blocks - marked} python block(s) not from docs/examples/"


def test_every_example_is_shown_in_a_guide() -> None:
    shown = included_examples()
    for name in SCRIPTS:
        assert f"docs/examples/{name}" in shown, f"docs/examples/{name} is in no guide"


# --- the patterns guide answers every seed function --------------------------------------


def seed_names() -> set[str]:
    names: set[str] = set()
    for seed in sorted(SEEDS.glob("*.txt")):
        names.update(re.findall(r"^\s*(?:async def|def|class) (\w+)", seed.read_text(), re.M))
    return names - {"__init__"}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents are not beside the repo")
def test_patterns_guide_names_every_seed_function() -> None:
    names = seed_names()
    assert {"transfer_hero_async", "get_async_session", "AsyncHeroService"} <= names
    guide = (DOCS / "patterns.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in guide)
    assert not missing, f"docs/patterns.md does not answer: {missing}"


# --- types -------------------------------------------------------------------------------


def mypy(*paths: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )


def test_users_code_passes_mypy_strict() -> None:
    """tests/typing/ (assert_type on every Repository call) and the docs' examples."""
    result = mypy("tests/typing", "docs/examples")
    assert result.returncode == 0, result.stdout + result.stderr
    for path in [*Path(ROOT, "tests/typing").glob("*.py"), *EXAMPLES.glob("*.py")]:
        assert "type: ignore" not in path.read_text(), path


def test_mypy_catches_a_wrong_type_and_the_seeds_selectinload(tmp_path: Path) -> None:
    """The check above can fail: a wrong assert_type is reported, and so is the seed's
    `selectinload(Hero.team)`, which `load=[Hero.team]` replaces."""
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "from typing import assert_type\n"
        "from heroes.models import Hero\n"
        "from sqlalchemy.orm import selectinload\n"
        "from sqlmodel import select\n"
        "from sqlmodel.ext.asyncio.session import AsyncSession\n"
        "from sqlmodel_async import Repository\n\n"
        "async def f(session: AsyncSession) -> None:\n"
        "    assert_type(await Repository(Hero, session).get(1), Hero)\n"
        "    select(Hero).options(selectinload(Hero.team))\n"
        "    await Repository(Hero, session).get(1, load=[Hero.team])\n"
    )
    result = mypy(wrong)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["9", "10"], result.stdout
