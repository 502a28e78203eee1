"""The pytest plugin: test an app against a real database without writing fixtures.

Installed with the library and loaded by pytest through the `pytest11` entry point:

- `database`: a `Database` for `--db-url` (default: in-memory SQLite), with the tables of
  `database_metadata` (SQLModel.metadata unless you override that fixture) created once per run;
- `session`: the test's `AsyncSession`, inside an outer transaction that is rolled back after
  the test; code under test may `commit()` (each commit releases a savepoint);
- `client`: an httpx `AsyncClient` calling your `app` fixture, whose session dependency yields
  the test's `session`;
- `assert_max_queries(n)`: fails, listing the statements, when a block runs more than n.

The fixtures are async and run in pytest-asyncio's session-scoped loop, so tests that use them
must run in it too. The plugin marks such async tests itself
(`@pytest.mark.asyncio(loop_scope="session")`, in pytest-asyncio's strict and auto modes alike),
so pytest-asyncio's defaults need no setting (see docs/testing.md).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pytest
from sqlalchemy import MetaData, Table, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

# Public here: the plugin's users import them from sqlmodel_async.testing.
from ._query_log import QueryLog as QueryLog
from ._query_log import QueryRecorder as QueryRecorder
from ._query_log import max_queries as max_queries
from ._query_log import recorder_for as recorder_for
from .database import Database
from .errors import ConfigurationError

if TYPE_CHECKING:  # optional packages, imported by the fixtures that need them
    from httpx import AsyncClient

F = TypeVar("F", bound=Callable[..., Any])

#: Environment variable read when `--db-url` is not given.
ENV_VAR = "SQLMODEL_ASYNC_TEST_URL"
#: The database when nothing is configured: private to the run, nothing to clean up.
DEFAULT_URL = "sqlite+aiosqlite:///:memory:"
INI_URL = "sqlmodel_async_db_url"

# --- options --------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sqlmodel-async", "sqlmodel-async database fixtures")
    help_text = (
        f"database URL for the sqlmodel-async fixtures (default: ${ENV_VAR}, the "
        f"{INI_URL} ini option, or in-memory SQLite)"
    )
    try:
        group.addoption(
            "--db-url", "--sqlmodel-async-db-url", dest="sqlmodel_async_db_url",
            default=None, help=help_text,
        )
    except ValueError:
        # Another plugin owns --db-url: keep ours under its long name rather than break the run.
        group.addoption(
            "--sqlmodel-async-db-url", dest="sqlmodel_async_db_url", default=None, help=help_text
        )
    parser.addini(INI_URL, help="database URL for the sqlmodel-async fixtures", default=None)


def configured_url(config: pytest.Config) -> str:
    """The URL the fixtures use: --db-url, then $SQLMODEL_ASYNC_TEST_URL, then the ini option."""
    option: str | None = config.getoption("sqlmodel_async_db_url", default=None)
    ini: str | None = config.getini(INI_URL) or None
    return option or os.environ.get(ENV_VAR) or ini or DEFAULT_URL


def _async_fixture(scope: Literal["session", "function"]) -> Callable[[F], F]:
    """An async fixture in pytest-asyncio's session loop, in both its auto and strict modes.

    Engines and pooled connections belong to the loop that made them, so every fixture here
    runs in the one loop that lives as long as the `database` fixture.
    """
    try:
        import pytest_asyncio
    except ImportError:  # pytest then says the async fixture needs an async plugin
        return pytest.fixture(scope=scope)  # type: ignore[return-value]
    return pytest_asyncio.fixture(scope=scope, loop_scope="session")  # type: ignore[return-value]


def _require_session_loop(request: pytest.FixtureRequest) -> None:
    """Fail clearly when the test would run in another loop than the fixtures' connection."""
    test = getattr(request.node, "obj", None)
    if test is None or not inspect.iscoroutinefunction(test):
        return
    marker = request.node.get_closest_marker("asyncio")
    scope = None
    if marker is not None:
        scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    if scope is None:
        try:
            scope = request.config.getini("asyncio_default_test_loop_scope")
        except ValueError:  # no pytest-asyncio
            return
    if (scope or "function") != "session":
        pytest.fail(
            f"{request.node.nodeid} uses the sqlmodel-async fixtures but runs in a "
            f"{scope or 'function'}-scoped event loop; their connection lives in the session "
            'loop. Set asyncio_default_test_loop_scope = "session" in your pytest '
            'configuration (or mark the test @pytest.mark.asyncio(loop_scope="session")).',
            pytrace=False,
        )


# --- marking the tests that use the fixtures ------------------------------------------------

#: The fixtures whose connection lives in pytest-asyncio's session loop.
_SESSION_LOOP_FIXTURES = frozenset({"database", "session", "client", "assert_max_queries"})


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, Any, None]:
    """Mark each async test that uses the fixtures to run in the session loop.

    This wrapper runs inside pytest-asyncio's own (trylast), so the mark is there when
    pytest-asyncio turns the function into an async test item, in its strict mode too. A
    test that carries its own `asyncio` mark keeps it (and `_require_session_loop` checks it).
    """
    outcome = yield
    try:
        result = outcome.get_result()
    except BaseException:
        return
    items = result if isinstance(result, list) else [result]
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if not inspect.iscoroutinefunction(getattr(item, "obj", None)):
            continue
        if item.get_closest_marker("asyncio") is not None:
            continue
        if _SESSION_LOOP_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"))


# --- schema ---------------------------------------------------------------------------------


async def create_missing_tables(database: Database) -> list[Table]:
    """Create the metadata's tables that do not exist yet; return those it created."""

    def create(connection: Connection) -> list[Table]:
        missing = [
            table for table in database.metadata.sorted_tables
            if not connection.dialect.has_table(connection, table.name, schema=table.schema)
        ]
        database.metadata.create_all(connection, tables=missing, checkfirst=False)
        return missing

    async with database.engine.begin() as connection:
        return await connection.run_sync(create)


async def drop_tables(database: Database, tables: list[Table]) -> None:
    if not tables:
        return
    async with database.engine.begin() as connection:
        await connection.run_sync(database.metadata.drop_all, tables=tables)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of the test database. Override it to choose another way, or parametrize it
    to run the suite on several backends."""
    return configured_url(request.config)


@pytest.fixture(scope="session")
def database_metadata() -> MetaData:
    """The tables the `database` fixture creates: override it to give your own MetaData."""
    return SQLModel.metadata


@_async_fixture(scope="session")
async def database(database_url: str, database_metadata: MetaData) -> AsyncIterator[Database]:
    """A `Database` for the run, with the metadata's missing tables created.

    On a server database, the tables it created are dropped at the end; tables that were
    already there (say, made by your migrations) are used and left as they were.
    """
    try:
        db = Database(database_url, metadata=database_metadata)
    except ConfigurationError as error:
        pytest.fail(f"sqlmodel-async test database: {error}", pytrace=False)
    recorder_for(db)
    try:
        created = await create_missing_tables(db)
    except (OSError, sa_exc.SQLAlchemyError) as error:
        await db.dispose()
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        pytest.fail(f"sqlmodel-async test database {db.url}: {reason}", pytrace=False)
    try:
        yield db
    finally:
        try:
            if not db.is_memory_sqlite:
                await drop_tables(db, created)
        finally:
            await db.dispose()


def _refuse_new_transaction(
    _conn: Connection, _cursor: Any, statement: str, *_args: Any, **_kw: Any
) -> None:
    # MariaDB/MySQL would commit the test's outer transaction first: its work would stay.
    if re.match(r"^\s*START\s+TRANSACTION\b", statement, re.IGNORECASE):
        raise RuntimeError(
            "a new transaction cannot start inside the test's rolled-back transaction "
            "(MariaDB/MySQL would commit the test's work); Database.read_only() cannot be "
            "used under the session fixture on this backend"
        )


@_async_fixture(scope="function")
async def session(
    database: Database, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncSession]:
    """An AsyncSession inside a transaction that is rolled back after the test.

    `commit()` releases a savepoint and opens the next, so committed work is visible to the
    test and the app but never to the next test. While the test runs, `database.session()`,
    `database.transaction()`, `run_in_transaction()` and `database.reader()` join the same
    transaction (`Database.bind`).
    """
    _require_session_loop(request)
    recorder_for(database)
    async with database.engine.connect() as connection:
        outer = await connection.begin()
        sync_connection = connection.sync_connection
        assert sync_connection is not None
        event.listen(sync_connection, "before_cursor_execute", _refuse_new_transaction)
        try:
            with database.bind(connection):
                async with database.sessionmaker() as test_session:
                    yield test_session
        finally:
            event.remove(sync_connection, "before_cursor_execute", _refuse_new_transaction)
            if outer.is_active:
                await outer.rollback()


@pytest.fixture
def app() -> Any:
    """Your FastAPI app: define an `app` fixture for the `client` fixture to call."""
    pytest.fail(
        "the client fixture needs your application: define a fixture named `app` that "
        "returns it (in conftest.py)",
        pytrace=False,
    )


@pytest.fixture
def session_dependencies() -> list[Callable[..., Any]]:
    """The dependencies `client` replaces with the test's session; add your own wrappers."""
    from .fastapi import get_session

    return [get_session]


@_async_fixture(scope="function")
async def client(
    app: Any,
    database: Database,
    session: AsyncSession,
    session_dependencies: list[Callable[..., Any]],
) -> AsyncIterator[AsyncClient]:
    """An httpx AsyncClient that calls `app` in process, its requests using `session`.

    The app's lifespan does not run; `app.state.database` is the test `database`.
    """
    from httpx import ASGITransport, AsyncClient

    async def test_session() -> AsyncIterator[AsyncSession]:
        try:
            yield session
        finally:
            transaction = session.get_transaction()
            if transaction is not None and not transaction.is_active:
                # A flush failed in the request: undo it, as a fresh request session would.
                await session.rollback()

    state = app.state
    had_database = hasattr(state, "database")
    previous_database = getattr(state, "database", None)
    previous_overrides = dict(app.dependency_overrides)
    state.database = database
    for dependency in session_dependencies:
        app.dependency_overrides[dependency] = test_session
    try:
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        app.dependency_overrides.clear()
        app.dependency_overrides.update(previous_overrides)
        if had_database:
            state.database = previous_database
        else:
            del state.database


@pytest.fixture
def assert_max_queries(
    database: Database,
) -> Callable[[int], AbstractContextManager[QueryLog]]:
    """`with assert_max_queries(3): ...` fails, listing the statements, when the block runs
    more than 3 statements on the test database (BEGIN/SAVEPOINT/... are not counted)."""

    def limit(n: int) -> AbstractContextManager[QueryLog]:
        return max_queries(database, n)

    return limit
