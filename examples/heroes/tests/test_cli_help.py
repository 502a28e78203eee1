"""The `heroes` command's help and its answer to a wrong DATABASE_URL.

Every command, found by walking the CLI (so a command added later is held to the same
rule), says what it does and shows an example; a wrong URL (unknown scheme, a sync driver,
a driver that is not installed, a host that does not answer) is one `error:` line on stderr
and exit code 1, for every command that opens the database. Run in process with typer's
CliRunner: the same code path as the installed command, without a process start each.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer
from heroes.cli import app
from typer.testing import CliRunner

runner = CliRunner()

#: Commands that open the database, with the arguments they need besides the URL.
DATABASE_COMMANDS = [["serve"], ["demo"], ["db", "upgrade"], ["db", "current"], ["db", "check"]]

WRONG_URLS = {
    "nosuchdb://x/heroes": "unsupported database backend 'nosuchdb'",
    "sqlite+pysqlite:///heroes.db": "is not an async driver",
    "postgresql+psycopg2://postgres@127.0.0.1/heroes": "is not installed",
    "mysql+aiomysql://root@127.0.0.1/heroes": "is not installed (aiomysql): pip install aiomysql",
    # port 1: nothing listens there, the connection is refused at once
    "postgresql://postgres@127.0.0.1:1/heroes": "Connect call failed",
    "mysql://root@127.0.0.1:1/heroes": "127.0.0.1:1",
}


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words that invoke it (typer's groups
    have `commands`; typer ships its own copy of click, so no isinstance on click's)."""
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, (*path, name))
    return paths


ALL_COMMANDS = command_paths(typer.main.get_command(app))


def test_the_cli_has_its_commands() -> None:
    assert {("serve",), ("demo",), ("db",), ("db", "upgrade")} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda path: " ".join(("heroes", *path)))
def test_help_says_what_it_does_and_shows_an_example(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Example: heroes" in text or "Example: DATABASE_URL=" in text, text
    command: Any = typer.main.get_command(app)
    for word in path:
        command = command.commands[word]
    summary = (command.help or "").strip().splitlines()[0]
    assert summary, f"heroes {' '.join(path)} has no help text"
    assert " ".join(summary.split()) in text


def test_no_arguments_shows_the_help() -> None:
    result = runner.invoke(app, [], prog_name="heroes")
    assert "Usage: heroes" in result.output and "serve" in result.output


@pytest.mark.parametrize("url", WRONG_URLS, ids=list(WRONG_URLS))
@pytest.mark.parametrize("path", DATABASE_COMMANDS, ids=" ".join)
def test_a_wrong_database_url_is_one_clear_line(path: list[str], url: str) -> None:
    result = runner.invoke(app, path, env={"DATABASE_URL": url})
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    assert WRONG_URLS[url] in lines[0], lines[0]


def test_the_option_wins_over_the_environment() -> None:
    result = runner.invoke(
        app, ["demo", "--database-url", "nosuchdb://x/y"], env={"DATABASE_URL": "sqlite://"}
    )
    assert result.exit_code == 1
    assert "nosuchdb" in result.stderr
