"""Per-backend facts: URL normalisation, key membership chunks, error classification."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sqlmodel_async import Database, DatabaseError, translate
from sqlmodel_async.dialects import (
    MYSQL,
    POSTGRESQL,
    SQLITE,
    backend_for,
    normalize_url,
)


def test_normalize_url_keeps_everything_but_the_driver() -> None:
    url = normalize_url("postgres://user:pw@db.example:6543/app?ssl=require")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "user",
        "pw",
        "db.example",
        6543,
        "app",
    )
    assert url.query == {"ssl": "require"}
    assert normalize_url(make_url("mariadb://u@h/d")).drivername == "mysql+asyncmy"
    assert normalize_url("mariadb+asyncmy://u@h/d").drivername == "mysql+asyncmy"


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unsupported database backend 'oracle'"):
        backend_for("oracle")
    assert backend_for("mariadb") is MYSQL


def test_membership_one_array_on_postgresql() -> None:
    column = sa.Column("id", sa.Integer)
    clauses = list(POSTGRESQL.membership(column, list(range(100_000))))
    assert len(clauses) == 1
    compiled = clauses[0].compile(dialect=sa.dialects.postgresql.dialect())
    assert "ANY" in str(compiled)


@pytest.mark.parametrize("backend", [SQLITE, MYSQL])
def test_membership_chunks_below_the_parameter_limit(backend: object) -> None:
    column = sa.Column("id", sa.Integer)
    keys = list(range(150_001))
    clauses = list(backend.membership(column, keys))  # type: ignore[attr-defined]
    sizes = [len(clause.right.value) for clause in clauses]
    assert sum(sizes) == len(keys)
    assert max(sizes) < backend.max_params  # type: ignore[attr-defined]
    assert list(backend.membership(column, [])) == []  # type: ignore[attr-defined]


def test_sqlite_limit_comes_from_the_library() -> None:
    read_limit = SQLITE.runtime_max_params
    assert read_limit is not None
    connection = sqlite3.connect(":memory:")
    try:
        assert read_limit() == connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        connection.close()


def test_read_only_statements() -> None:
    assert POSTGRESQL.read_only_begin == "SET TRANSACTION READ ONLY"
    assert MYSQL.read_only_begin == "START TRANSACTION READ ONLY"
    assert (SQLITE.read_only_begin, SQLITE.read_only_end) == (
        "PRAGMA query_only = ON",
        "PRAGMA query_only = OFF",
    )


async def test_sqlite_trigger_abort_is_not_a_foreign_key() -> None:
    # SQLITE_CONSTRAINT_TRIGGER also carries RESTRICT refusals; a user's trigger is not one.
    async with Database("sqlite://") as db, db.engine.connect() as connection:
        await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        await connection.exec_driver_sql(
            "CREATE TRIGGER no_x BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT, 'nope'); END"
        )
        with pytest.raises(sa.exc.DBAPIError) as caught:
            await connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert not isinstance(translate(caught.value, db.backend), DatabaseError)


def test_an_error_tells_its_backend_by_its_driver_module() -> None:
    import asyncmy.errors
    import asyncpg

    from sqlmodel_async.dialects import backend_of_error

    def wrapped(orig: Exception) -> sa.exc.DBAPIError:
        return sa.exc.DBAPIError("INSERT ...", None, orig)

    assert backend_of_error(wrapped(asyncpg.exceptions.UniqueViolationError("x"))) is POSTGRESQL
    assert backend_of_error(wrapped(asyncmy.errors.IntegrityError(1062, "x"))) is MYSQL
    assert backend_of_error(wrapped(sqlite3.IntegrityError("x"))) is SQLITE
    assert backend_of_error(wrapped(ValueError("x"))) is SQLITE  # none says: the default
    duplicate = wrapped(asyncpg.exceptions.UniqueViolationError("x"))
    assert isinstance(translate(duplicate), DatabaseError)


def test_write_options_begin_writes_where_the_backend_needs_it() -> None:
    assert SQLITE.write_options == {"sqlmodel_async_begin": "BEGIN IMMEDIATE"}
    assert POSTGRESQL.write_options == {} and MYSQL.write_options == {}


def test_only_sqlite_is_embedded_in_memory_and_switches_foreign_keys() -> None:
    memory, file = make_url("sqlite+aiosqlite://"), make_url("sqlite+aiosqlite:///x.db")
    assert SQLITE.embedded and SQLITE.is_memory(memory) and not SQLITE.is_memory(file)
    assert SQLITE.foreign_key_switch is not None
    for server in (POSTGRESQL, MYSQL):
        assert not server.embedded and server.foreign_key_switch is None
        assert not server.is_memory(make_url(f"{server.name}://u@h/db"))
