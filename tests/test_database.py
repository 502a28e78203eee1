"""Database: URLs, pool options, SQLite set-up, sessions, scopes, read-only, savepoints."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import ConfigurationError, Database, ReadOnlyError, Repository

from .models import Hero, metadata
from .support.recorders import queries

# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("mysql://u@h/db", "mysql+asyncmy"),
        ("mariadb://u@h/db", "mysql+asyncmy"),
        ("sqlite://", "sqlite+aiosqlite"),
        ("sqlite:///./x.db", "sqlite+aiosqlite"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
        ("mysql+asyncmy://u@h/db", "mysql+asyncmy"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite"),
    ],
)
def test_plain_urls_get_the_async_driver(url: str, driver: str) -> None:
    assert Database(url).engine.url.drivername == driver


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("oracle://u:secret@h/db", "unsupported database backend"),
        ("not a url", "invalid database URL"),
        ("postgresql+psycopg://u:secret@h/db", "not installed"),
        ("mysql+aiomysql://u:secret@h/db", "not installed"),
        # an installed driver that is not async
        ("sqlite+pysqlite:///x.db", "not an async driver"),
    ],
)
def test_bad_urls_raise_one_configuration_error(url: str, needle: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Database(url)
    message = str(caught.value)
    assert needle in message
    assert "secret" not in message
    assert caught.value.__cause__ is None  # one clear message, not a chain of driver errors


def test_password_never_in_repr_str_or_url() -> None:
    db = Database("postgresql://u:secret@127.0.0.1:1/x")
    for text in (repr(db), str(db), db.url, repr(db.engine), str(db.engine.url)):
        assert "secret" not in text
    assert "***" in db.url


@pytest.mark.parametrize(
    "url", ["postgresql://u:secret@127.0.0.1:1/x", "mysql://u:secret@127.0.0.1:1/x"]
)
async def test_password_never_in_connection_errors(url: str) -> None:
    db = Database(url)
    with pytest.raises(Exception) as caught:
        await db.ping()
    text = "".join(traceback.format_exception(caught.value))
    assert "secret" not in text
    await db.dispose()


def test_echo_defaults_to_false() -> None:
    assert Database("sqlite://").engine.echo is False
    assert Database("sqlite://", echo=True).engine.echo is True


def test_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    db = Database.from_env()
    assert db.engine.url.drivername == "sqlite+aiosqlite"
    assert db.engine.url.database == str(tmp_path / "env.db")
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(ConfigurationError, match="DATABASE_URL is not set"):
        Database.from_env()
    assert Database.from_env(default="sqlite://").is_memory_sqlite
    monkeypatch.setenv("OTHER_URL", "postgresql://u@h/db")
    assert Database.from_env("OTHER_URL").backend.name == "postgresql"


# --- pool options ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["sqlite://", "sqlite+aiosqlite:///:memory:"])
def test_memory_sqlite_gets_a_static_pool(url: str) -> None:
    db = Database(url)
    assert db.is_memory_sqlite
    assert isinstance(db.engine.pool, StaticPool)


@pytest.mark.parametrize("option", ["pool_size", "max_overflow", "pool_timeout"])
def test_memory_sqlite_refuses_queue_pool_options(option: str) -> None:
    with pytest.raises(ConfigurationError, match=option):
        Database("sqlite://", **{option: 5})


@pytest.mark.parametrize(
    "options",
    [
        {"pool_size": 0},
        {"pool_size": -1},
        {"pool_size": 2.5},
        {"pool_size": "10"},
        {"pool_size": True},
        {"max_overflow": -2},
        {"pool_timeout": -1},
        {"pool_timeout": "soon"},
        {"pool_recycle": -5},
        {"pool_pre_ping": "yes"},
    ],
)
def test_invalid_pool_values_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Database("postgresql://u@h/db", **options)  # type: ignore[arg-type]


def test_pool_options_reach_the_pool(tmp_path: Path) -> None:
    db = Database(
        "postgresql://u@h/db", pool_size=7, max_overflow=3, pool_timeout=2.5, pool_recycle=60
    )
    pool = db.engine.pool
    assert isinstance(pool, sa.pool.QueuePool)
    assert pool.size() == 7
    assert pool._max_overflow == 3
    assert pool._timeout == 2.5
    assert pool._recycle == 60
    # A file SQLite database has a real pool: the options apply.
    assert Database(f"sqlite:///{tmp_path / 'p.db'}", pool_size=2).engine.pool.size() == 2


def test_unknown_engine_option_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="invalid engine option"):
        Database("postgresql://u@h/db", no_such_option=1)


# --- SQLite set-up --------------------------------------------------------------------------


async def test_file_sqlite_is_wal_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    async with Database(url) as db, db.engine.connect() as connection:

        async def pragma(name: str) -> object:
            return (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()

        assert await pragma("journal_mode") == "wal"
        assert await pragma("busy_timeout") == 5000
        assert await pragma("foreign_keys") == 1


async def test_memory_sqlite_enforces_foreign_keys() -> None:
    async with Database("sqlite://") as db, db.engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


# --- sessions and scopes --------------------------------------------------------------------


async def test_sessions_are_sqlmodel_async_sessions(db: Database) -> None:
    async with db.session() as session:
        assert isinstance(session, AsyncSession)
        assert (await session.exec(select(Hero))).all() == []


async def test_attributes_readable_after_commit_without_a_query(db: Database) -> None:
    async with db.transaction() as session:
        hero = Hero(name="Deadpond", secret_name="Dive Wilson")
        session.add(hero)
    with queries(db) as statements:
        # expire_on_commit=False: no refresh needed, and reading is not a hidden query
        assert (hero.id, hero.name, hero.power_level) != (None, None, None)
        assert hero.name == "Deadpond"
    assert statements == []


async def test_transaction_commits_on_success(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 1


async def test_transaction_rolls_back_and_reraises(db: Database) -> None:
    with pytest.raises(LookupError, match="boom"):
        async with db.transaction() as session:
            await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
            raise LookupError("boom")
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0


async def test_session_does_not_commit_by_itself(db: Database) -> None:
    async with db.session() as session:
        await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0
        await Repository(Hero, session).create({"name": "B", "secret_name": "b"})
        await session.commit()
    async with db.session() as session:
        assert [h.name for h in await Repository(Hero, session).list()] == ["B"]


async def test_create_all_drop_all_and_context_manager(db: Database) -> None:
    scratch = sa.MetaData()
    sa.Table("t_scratch_b", scratch, sa.Column("id", sa.Integer, primary_key=True))

    async def tables(database: Database) -> set[str]:
        async with database.engine.connect() as connection:
            return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))

    async with Database(db.engine.url, metadata=scratch) as other:
        await other.create_all()
        await other.create_all()  # idempotent
        assert "t_scratch_b" in await tables(other)
        await other.drop_all()
        assert "t_scratch_b" not in await tables(other)
        assert "t_hero" in await tables(other)  # other metadata's tables untouched
    # leaving the block disposed the pool: no connection is kept open
    assert other.engine.pool.checkedin() == 0


# --- read-only ------------------------------------------------------------------------------


async def test_read_only_refuses_writes(db: Database) -> None:
    with pytest.raises(ReadOnlyError):
        async with db.read_only() as session:
            await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    with pytest.raises(ReadOnlyError):
        async with db.read_only() as session:
            await session.exec(sa.insert(Hero).values(name="B", secret_name="b"))  # type: ignore[call-overload]
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0


async def test_read_only_reads(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.read_only() as session:
        assert [h.name for h in await Repository(Hero, session).list()] == ["A"]


async def test_objects_read_in_read_only_stay_readable_after_the_scope(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.read_only() as session:
        hero = await Repository(Hero, session).first(name="A")
    # The scope ends without expiring what it loaded: a rollback would have.
    assert hero is not None and (hero.name, hero.secret_name) == ("A", "a")


async def _read_only_state(db: Database, session: AsyncSession) -> object:
    query = {
        "sqlite": "PRAGMA query_only",
        "postgresql": "SHOW transaction_read_only",
        "mysql": "SELECT @@session.tx_read_only",  # MariaDB's name for it
    }[db.backend.name]
    return (await (await session.connection()).exec_driver_sql(query)).scalar()


async def _dbapi_connection(session: AsyncSession) -> object:
    return (await (await session.connection()).get_raw_connection()).dbapi_connection


async def test_read_only_leaves_no_state_on_the_pooled_connection(db: Database) -> None:
    async with Database(db.engine.url, metadata=metadata, pool_size=1, max_overflow=0) as one:
        with pytest.raises(ReadOnlyError):
            async with one.read_only() as session:
                dbapi_connection = await _dbapi_connection(session)
                await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
        async with one.transaction() as session:
            assert await _dbapi_connection(session) is dbapi_connection
            assert await _read_only_state(one, session) in (0, "off", "0")
            await Repository(Hero, session).create({"name": "B", "secret_name": "b"})
        async with one.session() as session:
            assert [h.name for h in await Repository(Hero, session).list()] == ["B"]


# --- savepoints -----------------------------------------------------------------------------


async def test_inner_savepoint_rollback_keeps_outer_work(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "outer", "secret_name": "o"})
        savepoint = await session.begin_nested()
        await heroes.create({"name": "inner", "secret_name": "i"})
        await savepoint.rollback()
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await heroes.create({"name": "inner2", "secret_name": "i"})
                raise RuntimeError("undo the savepoint only")
        async with session.begin_nested():
            await heroes.create({"name": "kept", "secret_name": "k"})
    async with db.session() as session:
        assert [h.name for h in await Repository(Hero, session).list()] == ["outer", "kept"]


async def test_outer_rollback_discards_released_savepoints(db: Database) -> None:
    with pytest.raises(LookupError):
        async with db.transaction() as session:
            async with session.begin_nested():
                session.add(Hero(name="inside", secret_name="s"))
            raise LookupError("roll back everything")
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0


async def test_read_only_survives_a_commit_inside_the_scope(db: Database) -> None:
    # After a commit the session begins a new transaction: it must be read-only too, and
    # no connection may go back to the pool still read-only.
    async with Database(db.engine.url, metadata=metadata, pool_size=2, max_overflow=0) as two:
        async with two.read_only() as session:
            await Repository(Hero, session).count()
            await session.commit()  # its connection goes back to the pool...
            async with two.session() as other:  # ...where another session takes it
                await Repository(Hero, other).create({"name": "Z", "secret_name": "z"})
                await other.rollback()
                await Repository(Hero, session).count()  # on the second connection
                await Repository(Hero, other).create({"name": "Z", "secret_name": "z"})
                await other.rollback()
            with pytest.raises(ReadOnlyError):
                await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
        for _ in range(2):  # both pooled connections write normally
            async with two.session() as first, two.session() as second:
                for session, name in ((first, "B"), (second, "C")):
                    assert await _read_only_state(two, session) in (0, "off", "0")
                    await Repository(Hero, session).create({"name": name, "secret_name": "x"})
                    await session.rollback()
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0


# --- bind -----------------------------------------------------------------------------------


async def test_bind_runs_every_scope_on_one_connection(db: Database) -> None:
    """Under bind(), every scope joins the connection's transaction (a commit releases a
    savepoint), so rolling it back undoes them all; after the block they use the pool."""
    names = sa.select(Hero.__table__.c.name).order_by(Hero.__table__.c.name)  # type: ignore[attr-defined]

    async def create_b(session: AsyncSession) -> None:
        await Repository(Hero, session).create({"name": "B", "secret_name": "b"})

    async with db.engine.connect() as connection:
        outer = await connection.begin()
        with db.bind(connection) as bound:
            assert bound is connection
            async with db.transaction() as session:
                await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
            await db.run_in_transaction(create_b)
            async with db.session() as session:
                await Repository(Hero, session).create({"name": "C", "secret_name": "c"})
                await session.commit()
            async with db.sessionmaker(bind=db.engine) as session:
                assert await Repository(Hero, session).count() == 3
            async with db.reader() as reader:
                assert [row[0] for row in await reader.fetch(names)] == ["A", "B", "C"]
            if db.backend.name != "mysql":  # its read-only transaction would end this one
                async with db.read_only(replica=False) as session:
                    assert await Repository(Hero, session).count() == 3
        assert connection.in_transaction()
        await outer.rollback()
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0
    async with db.reader() as reader:
        assert await reader.fetch(names) == []
