"""Dependency floors past known advisories, and the service's lock file agreeing with them."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

HEROES = Path(__file__).parents[1]
LIBRARY = HEROES.parents[1]
#: The first versions past the advisories (docs/security.md lists them).
FLOORS = {
    "h11": "0.16",  # CVE-2025-43859
    "starlette": "0.49.1",  # CVE-2024-47874, CVE-2025-54121, CVE-2025-62727
    "idna": "3.7",  # CVE-2024-3651
}


def _requirements(path: Path) -> dict[str, Requirement]:
    project = tomllib.loads(path.read_text())["project"]
    listed = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        listed += extra
    found = {}
    for line in listed:
        requirement = Requirement(line)
        found[requirement.name] = requirement
    return found


def _locked() -> dict[str, Version]:
    pins = {}
    for line in (HEROES / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, rest = line.partition("==")
            pins[name.strip().lower()] = Version(rest.split(";")[0].strip())
    return pins


#: A version each advisory affects: the floors must refuse it.
VULNERABLE = {"h11": "0.15.0", "starlette": "0.49.0", "idna": "3.6"}


def test_floors_exclude_the_advisories() -> None:
    heroes = _requirements(HEROES / "pyproject.toml")
    for name, old in VULNERABLE.items():
        assert name in heroes, name
        assert not heroes[name].specifier.contains(old), name
    library = _requirements(LIBRARY / "pyproject.toml")
    assert not library["starlette"].specifier.contains(VULNERABLE["starlette"])


def test_lock_pins_satisfy_the_requirements() -> None:
    pins = _locked()
    for name, requirement in _requirements(HEROES / "pyproject.toml").items():
        if name in ("sqlmodel-async", "heroes"):
            continue
        assert name.lower() in pins, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name.lower()]), (name, pins[name.lower()])
    for name, floor in FLOORS.items():
        assert pins[name] >= Version(floor)


def test_installed_versions_are_past_the_advisories() -> None:
    for name, floor in FLOORS.items():
        assert Version(version(name)) >= Version(floor), name
