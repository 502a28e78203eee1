"""The pytest plugin (sqlmodel_async.testing), seen from a user's project: pytester runs a
user's test files in a directory outside this repository, in a fresh pytest process that
loads the plugin through its entry point, on SQLite and with --db-url on each server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect

from sqlmodel_async import Database

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "test_user_app.py"

# What docs/testing.md tells users to set.
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_test_loop_scope = session
"""

# Beyond the docs example: the N+1 catch, the statements it does not count, and code that
# opens its own scope from the Database instead of using the request's session.
EXTRAS = '''
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import selectinload
from sqlmodel import Field, Relationship, SQLModel, func, select

from sqlmodel_async import ReadOnlyError
from sqlmodel_async.fastapi import SessionDep, add_exception_handlers


class Author(SQLModel, table=True):
    __tablename__ = "plugin_author"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    books: list["Book"] = Relationship(back_populates="author")


class Book(SQLModel, table=True):
    __tablename__ = "plugin_book"
    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int | None = Field(default=None, foreign_key="plugin_author.id")
    author: Author | None = Relationship(back_populates="books")


async def add_authors(session, count):
    for number in range(count):
        author = Author(name=f"author {number}")
        session.add_all([author, Book(title=f"book {number}", author=author)])
    await session.commit()
    session.expunge_all()


async def test_an_n_plus_one_loop_fails(session, assert_max_queries):
    await add_authors(session, 3)
    with assert_max_queries(2):
        authors = (await session.exec(select(Author).order_by(Author.id))).all()
        for author in authors:
            await session.exec(select(Book).where(Book.author_id == author.id))


async def test_a_selectin_load_passes(session, assert_max_queries):
    await add_authors(session, 3)
    with assert_max_queries(2) as log:
        statement = select(Author).options(selectinload(Author.books))
        authors = (await session.exec(statement)).all()
        assert sum(len(author.books) for author in authors) == 3
    assert len(log) == 2


async def test_commit_and_savepoints_are_not_counted(session, assert_max_queries):
    with assert_max_queries(1) as log:
        session.add(Author(name="one insert"))
        await session.commit()
    assert len(log) == 1 and log.statements[0].upper().startswith("INSERT")


async def test_code_using_database_transaction_commits(database, session):
    async with database.transaction() as own:
        own.add(Author(name="through the Database"))
    count = (await session.exec(select(func.count()).select_from(Author))).one()
    assert count == 1


async def test_and_the_next_test_does_not_see_it(database, session):
    async with database.session() as own:
        count = (await own.exec(select(func.count()).select_from(Author))).one()
    assert count == 0


async def test_read_only_joins_or_refuses_clearly(database, session):
    session.add(Author(name="before"))
    await session.commit()
    if database.backend.name == "mysql":
        # MariaDB would commit the test's transaction to start a read-only one.
        with pytest.raises(RuntimeError, match="read_only"):
            async with database.read_only() as own:
                await own.exec(select(Author))
    else:
        with pytest.raises(ReadOnlyError):
            async with database.read_only() as own:
                own.add(Author(name="refused"))
                await own.flush()
    session.add(Author(name="after"))
    await session.commit()
    names = (await session.exec(select(Author.name).order_by(Author.name))).all()
    assert list(names) == ["after", "before"]


# A handler that commits a duplicate itself: the flush fails inside the test's session.
api = FastAPI()
add_exception_handlers(api)


@api.post("/authors")
async def create_author(author: Author, session: SessionDep) -> Author:
    session.add(author)
    await session.commit()
    return author


@pytest.fixture
def app():
    return api


async def test_a_failed_flush_in_a_request_leaves_the_session_usable(client, session):
    assert (await client.post("/authors", json={"name": "x"})).status_code == 200
    assert (await client.post("/authors", json={"name": "x"})).status_code == 409
    names = (await session.exec(select(Author.name))).all()
    assert list(names) == ["x"]
'''


def run_user_project(
    pytester: pytest.Pytester, *args: str, ini: str = INI
) -> pytest.RunResult:
    pytester.makeini(ini)
    pytester.makepyfile(test_user_app=EXAMPLE.read_text(), test_extras=EXTRAS)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def check_user_project(result: pytest.RunResult) -> None:
    # Every test of the example passes, in file order: commits of one test are gone in the
    # next. The N+1 loop is the one failure, and it lists the statements it counted.
    result.assert_outcomes(passed=12, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_an_n_plus_one_loop_fails*",
            "*expected at most 2 queries, 4 ran:*",
            "*1. SELECT*plugin_author*",
            "*4. SELECT*plugin_book*",
        ]
    )


def test_a_user_project_on_default_in_memory_sqlite(pytester: pytest.Pytester) -> None:
    result = run_user_project(pytester, "-v")
    check_user_project(result)
    result.stdout.fnmatch_lines(
        [
            "*test_a_commit_is_visible_inside_the_test PASSED*",
            "*test_the_next_test_sees_none_of_it PASSED*",
        ]
    )


def test_a_user_project_with_db_url(
    pytester: pytest.Pytester, backend_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # backend_url skips an unreachable server locally and fails in CI.
    if backend_url.startswith("sqlite"):
        # A SQLite file, named through the environment variable this time.
        monkeypatch.setenv("SQLMODEL_ASYNC_TEST_URL", backend_url)
        result = run_user_project(pytester)
    else:
        result = run_user_project(pytester, "--db-url", backend_url)
    check_user_project(result)
    assert leftover_tables(backend_url) == [], "the plugin drops the tables it created"


def leftover_tables(url: str) -> list[str]:
    async def names() -> list[str]:
        async with Database(url) as database, database.engine.connect() as connection:
            tables: list[str] = await connection.run_sync(
                lambda sync: inspect(sync).get_table_names()
            )
        return [name for name in tables if name.startswith(("plugin_", "example_"))]

    return asyncio.run(names())


def test_a_user_project_with_pytest_asyncios_defaults(pytester: pytest.Pytester) -> None:
    # No pytest configuration at all: pytest-asyncio runs in strict mode with
    # function-scoped loops, and the plugin marks the tests that use its fixtures.
    result = run_user_project(pytester, ini="[pytest]\n")
    check_user_project(result)


def test_strict_mode_needs_the_session_loop_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    pytester.makepyfile(
        test_strict="""
        import pytest
        from sqlalchemy import literal
        from sqlmodel import select

        @pytest.mark.asyncio(loop_scope="session")
        async def test_in_the_session_loop(session):
            assert (await session.exec(select(literal(1)))).one() == 1

        @pytest.mark.asyncio
        async def test_in_a_function_loop(session):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*runs in a function-scoped event loop*"])


def test_a_bad_url_is_one_clear_failure(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("async def test_x(database):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--db-url", "nosuch://x")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*sqlmodel-async test database: invalid database URL*"])
