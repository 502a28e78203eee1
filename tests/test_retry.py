"""Transient-error classification on real errors from each backend, and run_in_transaction.

Every error here is produced by the database itself (serialization failures, deadlocks,
killed connections, lock contention); nothing is mocked. The seed's retry helper is copied
verbatim below so that its two bugs are shown next to our behaviour.
"""

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, DuplicateKeyError, Repository, TransientError, is_transient

from .models import Hero
from .support.backends import only

# --- helpers ----------------------------------------------------------------------------------


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE behind a SQLAlchemy error (asyncpg keeps it on the cause)."""
    orig = getattr(error, "orig", None)
    cause = getattr(orig, "__cause__", None)
    return getattr(cause, "sqlstate", None) or getattr(orig, "sqlstate", None)


def mysql_code(error: BaseException) -> int | None:
    args = getattr(getattr(error, "orig", None), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


async def add_heroes(db: Database, count: int) -> list[int]:
    async with db.transaction() as session:
        heroes = [Hero(name=f"hero-{i}", secret_name=f"secret-{i}") for i in range(count)]
        session.add_all(heroes)
    return [hero.id for hero in heroes if hero.id is not None]


async def run(session: AsyncSession, statement: Any) -> Any:
    connection = await session.connection()
    if isinstance(statement, str):
        return await connection.exec_driver_sql(statement)
    return await connection.execute(statement)


def set_age(hero_id: int, age: int) -> sa.Update:
    return sa.update(Hero).where(sa.column("id") == hero_id).values(age=age)


async def hero_count(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Hero))).one()


@pytest.fixture
async def impatient(db: Database) -> AsyncIterator[Database]:
    """A second Database on the same backend whose locks never wait (SQLite busy timeout 0,
    MariaDB lock wait timeout 1 s), for producing lock errors quickly."""
    other = Database(db.engine.url, metadata=db.metadata)

    @event.listens_for(other.engine.sync_engine, "connect")
    def no_waiting(dbapi_connection: Any, _record: Any) -> None:
        statement = {
            "sqlite": "PRAGMA busy_timeout = 0",
            "mysql": "SET SESSION innodb_lock_wait_timeout = 1",
            "postgresql": "SET lock_timeout = 0",
        }[db.backend.name]
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()

    yield other
    await other.dispose()


# --- PostgreSQL -------------------------------------------------------------------------------


async def test_postgresql_serialization_failure_is_a_bare_dbapierror_and_transient(
    db: Database,
) -> None:
    only(db, "postgresql")
    [hero_id] = await add_heroes(db, 1)
    async with db.sessionmaker() as first, db.sessionmaker() as second:
        for session in (first, second):
            await run(session, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            await run(session, sa.select(Hero.age).where(sa.column("id") == hero_id))
        await run(first, set_age(hero_id, 1))
        await first.commit()
        with pytest.raises(sa_exc.DBAPIError) as caught:
            await run(second, set_age(hero_id, 2))
        await second.rollback()
    error = caught.value
    # No SQLAlchemy subclass tells it apart: only the SQLSTATE does.
    assert type(error) is sa_exc.DBAPIError
    assert sqlstate(error) == "40001"
    assert is_transient(error, db.backend)
    assert is_transient(error)  # the backend is guessed from the driver


async def _deadlock(db: Database, setup: str | None) -> BaseException:
    """Two transactions lock two rows in opposite orders; return the victim's error."""
    first_id, second_id = await add_heroes(db, 2)
    async with db.sessionmaker() as a, db.sessionmaker() as b:
        for session, own in ((a, first_id), (b, second_id)):
            if setup:
                await run(session, setup)
            await run(session, set_age(own, 1))

        async def cross(session: AsyncSession, other: int) -> BaseException | None:
            try:
                await run(session, set_age(other, 2))
            except sa_exc.DBAPIError as error:
                await session.rollback()  # frees the survivor
                return error
            await session.commit()
            return None

        outcomes = await asyncio.gather(cross(a, second_id), cross(b, first_id))
    errors = [outcome for outcome in outcomes if outcome is not None]
    assert len(errors) == 1, outcomes
    return errors[0]


async def test_postgresql_deadlock_is_transient(db: Database) -> None:
    only(db, "postgresql")
    error = await _deadlock(db, "SET LOCAL deadlock_timeout = '50ms'")
    assert sqlstate(error) == "40P01"
    assert is_transient(error, db.backend)


async def test_mariadb_deadlock_is_transient(db: Database) -> None:
    only(db, "mysql")
    error = await _deadlock(db, None)
    assert isinstance(error, OperationalError)
    assert mysql_code(error) == 1213
    assert is_transient(error, db.backend)


async def test_mariadb_lock_wait_timeout_is_transient(db: Database, impatient: Database) -> None:
    only(db, "mysql")
    [hero_id] = await add_heroes(db, 1)
    async with db.sessionmaker() as holder, impatient.sessionmaker() as waiter:
        await run(holder, set_age(hero_id, 1))
        with pytest.raises(sa_exc.DBAPIError) as caught:
            await run(waiter, set_age(hero_id, 2))
        await waiter.rollback()
        await holder.rollback()
    assert mysql_code(caught.value) == 1205
    assert is_transient(caught.value, db.backend)


async def _own_connection_id(session: AsyncSession, backend: str) -> int:
    query = "SELECT pg_backend_pid()" if backend == "postgresql" else "SELECT CONNECTION_ID()"
    return int((await run(session, query)).scalar_one())


async def _kill(db: Database, connection_id: int) -> None:
    statement = (
        f"SELECT pg_terminate_backend({connection_id})"
        if db.backend.name == "postgresql"
        else f"KILL {connection_id}"
    )
    async with db.engine.connect() as connection:
        await connection.exec_driver_sql(statement)
        await connection.commit()


@pytest.mark.parametrize("while_running", [False, True], ids=["idle", "mid-query"])
async def test_killed_connection_is_transient(db: Database, while_running: bool) -> None:
    """pg_terminate_backend / KILL of the session's own server connection, from outside."""
    only(db, "postgresql", "mysql")
    async with db.sessionmaker() as session:
        victim = await _own_connection_id(session, db.backend.name)
        if while_running:
            sleep = "SELECT pg_sleep(5)" if db.backend.name == "postgresql" else "SELECT SLEEP(5)"
            query = asyncio.ensure_future(run(session, sleep))
            await asyncio.sleep(0.3)
            await _kill(db, victim)
        else:
            await _kill(db, victim)
            await asyncio.sleep(0.1)
            query = asyncio.ensure_future(run(session, "SELECT 1"))
        with pytest.raises(sa_exc.DBAPIError) as caught:
            await asyncio.wait_for(query, 10)
        await session.rollback()
    error = caught.value
    assert error.connection_invalidated
    assert is_transient(error, db.backend)
    if db.backend.name == "mysql":
        assert mysql_code(error) in (2006, 2013)
    elif while_running:
        # asyncpg reports the server's 57P01 FATAL as 08003 (connection does not exist)
        assert (sqlstate(error) or "").startswith("08")
        assert "administrator command" in str(error)


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        ("57P01", True),  # admin_shutdown
        ("08006", True),  # connection_failure
        ("40001", True),
        ("22012", False),  # division_by_zero: a data error
        ("23505", False),  # unique_violation
        ("42501", False),  # insufficient_privilege
    ],
)
async def test_postgresql_sqlstates_raised_by_the_server(
    db: Database, code: str, transient: bool
) -> None:
    """The server raises each SQLSTATE itself (PL/pgSQL RAISE); asyncpg turns them into
    its own exception classes, and only the SQLSTATE decides."""
    only(db, "postgresql")
    async with db.sessionmaker() as session:
        with pytest.raises(sa_exc.DBAPIError) as caught:
            await run(session, f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{code}'; END $$")
        await session.rollback()
    assert sqlstate(caught.value) == code
    assert is_transient(caught.value, db.backend) is transient


# --- SQLite -----------------------------------------------------------------------------------


async def test_sqlite_busy_is_transient(db: Database, impatient: Database) -> None:
    only(db, "sqlite")
    async with db.sessionmaker() as holder, impatient.sessionmaker() as writer:
        await run(holder, sa.insert(Hero).values(name="holder", secret_name="s"))
        with pytest.raises(OperationalError) as caught:
            await run(writer, sa.insert(Hero).values(name="writer", secret_name="s"))
        await writer.rollback()
        await holder.rollback()
    assert caught.value.orig.sqlite_errorcode == 5  # type: ignore[union-attr]  # SQLITE_BUSY
    assert "database is locked" in str(caught.value)
    assert is_transient(caught.value, db.backend)


async def test_sqlite_locked_is_transient(tmp_path: Any) -> None:
    """SQLITE_LOCKED: two connections of one shared cache, one writing, one reading."""
    db = Database(f"sqlite+aiosqlite:///file:{tmp_path / 'shared.db'}?cache=shared&uri=true")
    try:
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        async with db.sessionmaker() as writer, db.sessionmaker() as reader:
            await run(writer, "INSERT INTO t DEFAULT VALUES")
            with pytest.raises(OperationalError) as caught:
                await run(reader, "SELECT * FROM t")
            await reader.rollback()
            await writer.rollback()
    finally:
        await db.dispose()
    assert caught.value.orig.sqlite_errorcode & 0xFF == 6  # type: ignore[union-attr]
    assert is_transient(caught.value, db.backend)


async def test_sqlite_operational_error_that_is_not_transient(db: Database) -> None:
    """SQLite reports a missing table as OperationalError too: the class decides nothing."""
    only(db, "sqlite")
    async with db.sessionmaker() as session:
        with pytest.raises(OperationalError) as caught:
            await run(session, "SELECT * FROM no_such_table")
    assert not is_transient(caught.value, db.backend)


# --- errors that are never retried ------------------------------------------------------------


def _data_error_statement(backend: str) -> str | None:
    return {
        "postgresql": "SELECT CAST('not a number' AS INTEGER)",
        "mysql": "INSERT INTO t_hero (name, secret_name, power_level, age) "
        "VALUES ('x', 'y', 1, 99999999999)",
    }.get(backend)


@pytest.mark.parametrize("kind", ["integrity", "data", "programming"])
async def test_permanent_errors_run_once(db: Database, kind: str) -> None:
    await add_heroes(db, 1)
    calls = 0

    async def work(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        if kind == "integrity":
            session.add(Hero(name="hero-0", secret_name="again"))
            await session.flush()
        elif kind == "data":
            statement = _data_error_statement(db.backend.name)
            if statement is None:
                pytest.skip("SQLite has no data errors to speak of")
            await run(session, statement)
        else:
            await run(session, "SELECT * FROM no_such_table")

    with pytest.raises((DuplicateKeyError, sa_exc.DBAPIError)) as caught:
        await db.run_in_transaction(work, retries=5, backoff=0.001)
    assert calls == 1
    error = caught.value
    cause = error.__cause__ if isinstance(error, DuplicateKeyError) else error
    assert isinstance(cause, sa_exc.DBAPIError)
    assert not is_transient(cause, db.backend)
    if kind == "integrity":
        assert isinstance(error, DuplicateKeyError)
    elif kind == "data":  # through asyncpg, a bare DBAPIError again: read the code
        assert (sqlstate(error) or "").startswith("22") or mysql_code(error) == 1264
    elif db.backend.name != "sqlite":
        assert isinstance(error, sa_exc.ProgrammingError)
    assert await hero_count(db) == 1


# --- the seed's retry helper, verbatim ---------------------------------------------------------


async def execute_with_retry_async(
    func: Callable,  # type: ignore[type-arg]
    max_retries: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
) -> Any:
    """Execute async function with retry logic"""
    last_exception = None

    for attempt in range(max_retries + 1):
        try:
            return await func()
        except (OperationalError, IntegrityError) as e:
            last_exception = e
            if attempt >= max_retries:
                break

            await asyncio.sleep(delay * (backoff**attempt))

    raise last_exception  # type: ignore[misc]


async def safe_create_hero_async(session: AsyncSession, hero: Hero) -> Hero | None:
    """Create hero with retry logic for transient errors"""

    async def _create():  # type: ignore[no-untyped-def]
        session.add(hero)
        await session.commit()
        await session.refresh(hero)
        return hero

    try:
        return await execute_with_retry_async(_create)  # type: ignore[no-any-return]
    except Exception as e:
        await session.rollback()
        raise e


async def test_seed_retries_an_integrity_error_that_cannot_succeed(db: Database) -> None:
    await add_heroes(db, 1)
    calls = 0

    async def duplicate() -> None:
        nonlocal calls
        calls += 1
        async with db.sessionmaker() as session:
            session.add(Hero(name="hero-0", secret_name="again"))
            await session.commit()

    with pytest.raises(IntegrityError):
        await execute_with_retry_async(duplicate, delay=0.001)
    assert calls == 4  # the seed ran a duplicate insert four times

    async def ours(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        session.add(Hero(name="hero-0", secret_name="again"))

    calls = 0
    with pytest.raises(DuplicateKeyError):
        await db.run_in_transaction(ours, retries=3, backoff=0.001)
    assert calls == 1


@pytest.mark.filterwarnings("ignore:Session.s state has been changed:sqlalchemy.exc.SAWarning")
async def test_seed_retries_inside_a_session_that_needs_a_rollback(db: Database) -> None:
    await add_heroes(db, 1)
    async with db.sessionmaker() as session:
        with pytest.raises(sa_exc.PendingRollbackError):
            # The first attempt's IntegrityError leaves the session needing a rollback; the
            # retry re-runs in that same session and fails with PendingRollbackError, which
            # hides the real cause from the caller.
            await safe_create_hero_async(session, Hero(name="hero-0", secret_name="again"))
    assert await hero_count(db) == 1


# --- run_in_transaction on real transient errors ----------------------------------------------


async def _lose_connection(session: AsyncSession, backend: str) -> None:
    """Kill the session's own server connection: a real lost-connection error."""
    own = await _own_connection_id(session, backend)
    if backend == "postgresql":
        await run(session, f"SELECT pg_terminate_backend({own})")
    else:
        await run(session, f"KILL {own}")


async def test_retries_in_a_fresh_session_and_transaction(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    only(db, "postgresql", "mysql")
    sessions: list[int] = []
    connections: list[int] = []

    async def work(session: AsyncSession) -> int:
        sessions.append(id(session))
        connections.append(await _own_connection_id(session, db.backend.name))
        session.add(Hero(name=f"attempt-{len(sessions)}", secret_name="s"))
        await session.flush()
        if len(sessions) < 3:
            await _lose_connection(session, db.backend.name)
        return len(sessions)

    caplog.set_level(logging.WARNING, logger="sqlmodel_async.retry")
    attempts = await db.run_in_transaction(work, retries=5, backoff=0.01, max_backoff=0.05)
    assert attempts == 3
    assert len(set(sessions)) == 3  # a new session each time
    assert len(set(connections)) == 3  # on a new server connection each time
    async with db.session() as session:
        names = (await session.exec(select(Hero.name))).all()
    assert names == ["attempt-3"]  # the failed attempts left nothing behind
    retried = [r for r in caplog.records if r.name == "sqlmodel_async.retry"]
    assert [r.attempt for r in retried] == [1, 2]  # type: ignore[attr-defined]
    for record in retried:
        # full jitter: anywhere between 0 and the capped exponential step
        assert 0 <= record.wait <= min(0.05, 0.01 * 2 ** (record.attempt - 1))  # type: ignore[attr-defined]


async def test_exhausted_retries_raise_transient_error_with_the_last_cause(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    only(db, "postgresql", "mysql")
    calls = 0

    async def work(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        await _lose_connection(session, db.backend.name)

    caplog.set_level(logging.WARNING, logger="sqlmodel_async.retry")
    with pytest.raises(TransientError) as caught:
        await db.run_in_transaction(work, retries=2, backoff=0.001)
    assert calls == 3
    cause = caught.value.__cause__
    assert isinstance(cause, sa_exc.DBAPIError) and is_transient(cause, db.backend)
    assert "3 attempts" in caught.value.message
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert any("giving up after 3 attempts" in r.getMessage() for r in caplog.records)


async def test_sqlite_busy_is_retried_until_the_lock_is_free(
    db: Database, impatient: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Another writer holds the lock; `impatient` has busy timeout 0, so its BEGIN IMMEDIATE
    gets SQLITE_BUSY at once and is retried until the other writer commits. The unit of
    work itself runs once: with the lock taken at BEGIN it never starts on a locked file."""
    only(db, "sqlite")
    calls = 0
    released: list[asyncio.Task[None]] = []

    class ReleaseOnFirstRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not released:
                released.append(asyncio.get_running_loop().create_task(holder.commit()))

    async def work(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        session.add(Hero(name="writer", secret_name="s"))
        await session.flush()

    handler = ReleaseOnFirstRetry(logging.WARNING)
    logging.getLogger("sqlmodel_async.retry").addHandler(handler)
    caplog.set_level(logging.WARNING, logger="sqlmodel_async.retry")
    try:
        async with db.sessionmaker() as holder:
            await run(holder, sa.insert(Hero).values(name="holder", secret_name="s"))
            await impatient.run_in_transaction(work, retries=20, backoff=0.01, max_backoff=0.05)
    finally:
        logging.getLogger("sqlmodel_async.retry").removeHandler(handler)
    assert released  # it did meet the lock
    assert all("database is locked" in r.getMessage() for r in caplog.records)
    assert calls == 1
    assert await hero_count(db) == 2


async def test_retry_arguments_are_checked(db: Database) -> None:
    async def work(session: AsyncSession) -> None:
        return None

    with pytest.raises(ValueError, match="retries"):
        await db.run_in_transaction(work, retries=-1)


async def test_deadlock_inside_a_savepoint_is_transient_and_retried(db: Database) -> None:
    """Repository writes in a busy transaction run in a savepoint. InnoDB rolls the whole
    transaction back on a deadlock, so undoing the savepoint fails with 1305 "SAVEPOINT
    does not exist": that error still counts as transient, and the unit is retried."""
    only(db, "postgresql", "mysql")
    first_id, second_id = await add_heroes(db, 2)
    setup = "SET LOCAL deadlock_timeout = '50ms'" if db.backend.name == "postgresql" else None
    both_locked = asyncio.Event()
    locked = 0
    attempts: Counter[int] = Counter()

    async def cross(own: int, other: int) -> None:
        async def work(session: AsyncSession) -> None:
            nonlocal locked
            attempts[own] += 1
            if setup:
                await run(session, setup)
            await run(session, set_age(own, 1))
            if attempts[own] == 1:
                locked += 1
                if locked == 2:
                    both_locked.set()
                await both_locked.wait()
            await Repository(Hero, session).update(other, {"age": 2})  # in a savepoint

        await db.run_in_transaction(work, backoff=0.01)

    await asyncio.wait_for(
        asyncio.gather(cross(first_id, second_id), cross(second_id, first_id)), 30
    )
    assert sum(attempts.values()) == 3  # one of the two was the deadlock's victim, once
    async with db.session() as session:
        ages = (await session.exec(select(Hero.age))).all()
    assert sorted(ages) == [1, 2]  # both units committed, the victim last
