"""Each pitfall of the seed's snippets, run as the seed wrote it (it fails), next to
the library call that replaces it (it works). Every test runs on all three backends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import joinedload, sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import (
    ConfigurationError,
    Database,
    InvalidDataError,
    LazyLoadError,
    ReadOnlyError,
    Repository,
)

from .models import Hero, Team, metadata
from .support.recorders import queries

# The seed's gather on one session leaves a driver coroutine behind; it is collected later,
# during whichever test runs next.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")


async def add_team_with_heroes(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        team = await Repository(Team, session).create({"name": "T", "headquarters": "h"})
        heroes = Repository(Hero, session)
        a = await heroes.create({"name": "A", "secret_name": "a", "team_id": team.id})
        await heroes.create({"name": "B", "secret_name": "b", "team_id": team.id})
        assert team.id is not None and a.id is not None
        return team.id, a.id


# --- the seed's CRUD calls ------------------------------------------------------------------


async def test_exec_first_without_awaiting_the_result(db: Database) -> None:
    await add_team_with_heroes(db)
    async with db.session() as session:
        statement = select(Hero).where(Hero.name == "A")
        with pytest.raises(AttributeError, match="coroutine"):
            await session.exec(statement).first()  # type: ignore[attr-defined]  # the seed
        assert (await Repository(Hero, session).first(name="A")) is not None  # ours


async def test_awaiting_session_add(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(TypeError, match="await"):
            await session.add(Hero(name="A", secret_name="a"))  # type: ignore[func-returns-value]  # the seed
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "A", "secret_name": "a"})  # ours
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 1


async def test_setattr_from_a_dict_lets_the_client_change_the_key(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    assert hero.id is not None
    # the seed's AsyncHeroService.update_hero
    async with AsyncSession(db.engine) as session:
        seed_hero = await session.get(Hero, hero.id)
        for key, value in {"id": hero.id + 500, "name": "Moved"}.items():
            setattr(seed_hero, key, value)
        session.add(seed_hero)
        await session.commit()
    async with db.session() as session:
        assert await Repository(Hero, session).get(hero.id) is None  # the row changed key
        moved = await Repository(Hero, session).get_one(hero.id + 500)
    # ours refuses and changes nothing
    async with db.transaction() as session:
        with pytest.raises(InvalidDataError):
            await Repository(Hero, session).update(moved.id, {"id": 1, "name": "Again"})
    async with db.session() as session:
        assert [(h.id, h.name) for h in await Repository(Hero, session).list()] == [
            (hero.id + 500, "Moved")
        ]


async def test_lists_without_order_by(db: Database) -> None:
    async with db.session() as session:
        with queries(db) as sent:
            await session.exec(select(Hero).offset(0).limit(100))  # the seed's get_heroes
            await Repository(Hero, session).list(offset=0, limit=100)  # ours
    seed_sql, our_sql = sent
    assert "ORDER BY" not in seed_sql
    assert "ORDER BY t_hero.id" in our_sql


# --- session set-up -------------------------------------------------------------------------


async def test_sessionmaker_with_sqlalchemys_async_session_has_no_exec(db: Database) -> None:
    seed_factory = sessionmaker(db.engine, class_=SQLAlchemyAsyncSession, expire_on_commit=False)  # type: ignore[call-overload]
    async with seed_factory() as session:
        assert not hasattr(session, "exec")
        with pytest.raises(AttributeError):
            await session.exec(select(Hero))
    async with db.session() as session:
        assert (await session.exec(select(Hero))).all() == []


# --- read-only sessions ---------------------------------------------------------------------


async def test_read_committed_is_not_read_only(db: Database) -> None:
    # the seed's read_only_session
    async with AsyncSession(db.engine) as session:
        if db.backend.name == "sqlite":
            with pytest.raises(sa_exc.ArgumentError):
                await session.connection(execution_options={"isolation_level": "READ COMMITTED"})
        else:
            await session.connection(execution_options={"isolation_level": "READ COMMITTED"})
            session.add(Hero(name="Written", secret_name="w"))
            await session.commit()  # the "read-only" session wrote
    async with db.session() as session:
        expected = 0 if db.backend.name == "sqlite" else 1
        assert await Repository(Hero, session).count(name="Written") == expected
    # ours refuses
    with pytest.raises(ReadOnlyError):
        async with db.read_only() as session:
            session.add(Hero(name="Refused", secret_name="r"))
            await session.flush()
    async with db.session() as session:
        assert await Repository(Hero, session).count(name="Refused") == 0


# --- loading relationships ------------------------------------------------------------------


async def test_joinedload_collection_without_unique(db: Database) -> None:
    await add_team_with_heroes(db)
    async with db.session() as session:
        result = await session.exec(select(Team).options(joinedload(Team.heroes)))  # type: ignore[arg-type]
        with pytest.raises(sa_exc.InvalidRequestError, match="unique"):
            result.all()  # the seed's get_teams_with_heroes_async
    async with db.session() as session:
        teams = await Repository(Team, session).list(load=[joinedload(Team.heroes)])  # type: ignore[arg-type]
    assert [len(t.heroes) for t in teams] == [2]


async def test_lazy_load_gives_missing_greenlet_in_plain_sessions(db: Database) -> None:
    _, hero_id = await add_team_with_heroes(db)
    async with AsyncSession(db.engine) as session:  # the seed's session
        hero = await session.get(Hero, hero_id)
        assert hero is not None
        # MissingGreenlet, bare or wrapped in a StatementError depending on the driver
        with pytest.raises(sa_exc.SQLAlchemyError, match="greenlet_spawn has not been called"):
            _ = hero.team
    async with db.session() as session:  # ours: says what and how to fix
        hero = await Repository(Hero, session).get_one(hero_id)
        with pytest.raises(LazyLoadError, match=r"Hero\.team.*load=\[Hero\.team\]"):
            _ = hero.team


async def test_session_get_ignores_options_for_loaded_objects(db: Database) -> None:
    team_id, _ = await add_team_with_heroes(db)
    async with AsyncSession(db.engine) as session:  # the seed's pattern
        loaded = await session.get(Team, team_id)
        team = await session.get(Team, team_id, options=[joinedload(Team.heroes)])  # type: ignore[arg-type]
        assert team is loaded
        assert "heroes" in sa.inspect(team).unloaded  # the options were ignored
    async with db.session() as session:
        teams = Repository(Team, session)
        loaded = await teams.get(team_id)
        team = await teams.get(team_id, load=[Team.heroes])
        assert team is loaded and "heroes" not in sa.inspect(team).unloaded
        assert len(team.heroes) == 2


# --- concurrent reads on one session --------------------------------------------------------


async def test_gather_on_one_session_is_not_concurrent(db: Database) -> None:
    await add_team_with_heroes(db)
    async with db.session() as session:
        ids = [h.id for h in await Repository(Hero, session).list()]
    async with AsyncSession(db.engine) as session:  # the seed's get_multiple_heroes_async
        with queries(db) as sent:
            results: list[Any] = await asyncio.gather(
                *(session.get(Hero, i) for i in ids), return_exceptions=True
            )
        refused = [r for r in results if isinstance(r, BaseException)]
        if refused:  # the session is not safe for concurrent use
            assert all(isinstance(r, sa_exc.InvalidRequestError) for r in refused)
        else:  # or it ran the queries one after another: N round trips
            assert len(sent) == len(ids)
    async with db.session() as session:
        with queries(db) as sent:
            heroes = await Repository(Hero, session).get_many(ids)
        assert [h.id for h in heroes] == ids
        assert len(sent) == 1


# --- explicit transactions and savepoints ---------------------------------------------------


async def test_begin_after_autobegin(db: Database) -> None:
    await add_team_with_heroes(db)
    async with AsyncSession(db.engine) as session:  # the seed's transfer_hero
        await session.exec(select(Hero))
        with pytest.raises(sa_exc.InvalidRequestError, match="already begun"):
            async with session.begin():
                pass
    async with db.transaction() as session:  # ours: the scope is the transaction
        hero = await Repository(Hero, session).first(name="A")
        assert hero is not None
        async with session.begin_nested():
            await Repository(Hero, session).update(hero.id, {"age": 9})
    async with db.session() as session:
        assert (await Repository(Hero, session).first(name="A")).age == 9  # type: ignore[union-attr]


async def test_sqlite_savepoints_need_the_driver_transaction_handling_off(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'savepoint.db'}"
    plain = create_async_engine(url)  # how the seed builds its engine
    async with plain.begin() as connection:
        await connection.run_sync(metadata.create_all)
    async with AsyncSession(plain) as session, session.begin():
        async with session.begin_nested():
            session.add(Hero(name="inside", secret_name="s"))
        await session.rollback()  # the outer transaction is rolled back...
    async with AsyncSession(plain) as session:
        # ...but sqlite3 had committed the savepoint's work on its own
        assert len((await session.exec(select(Hero))).all()) == 1
    await plain.dispose()

    async with Database(url, metadata=metadata) as db:
        async with db.session() as session:
            await session.exec(sa.delete(Hero))  # type: ignore[call-overload]
            await session.commit()
        with pytest.raises(LookupError):
            async with db.transaction() as session:
                async with session.begin_nested():
                    session.add(Hero(name="inside", secret_name="s"))
                raise LookupError("roll back")
        async with db.session() as session:
            assert await Repository(Hero, session).count() == 0


# --- engine set-up --------------------------------------------------------------------------


def test_pool_options_passed_blindly() -> None:
    seed_pool = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30, "pool_recycle": 1800}
    # the seed's "PostgreSQL Pool Configuration" pointed at its SQLite test URL
    with pytest.raises(TypeError, match="Invalid argument"):
        create_async_engine("sqlite+aiosqlite:///:memory:", pool_pre_ping=True, **seed_pool)
    with pytest.raises(ConfigurationError, match="in-memory SQLite") as caught:
        Database("sqlite+aiosqlite:///:memory:", pool_pre_ping=True, **seed_pool)
    assert isinstance(caught.value, ValueError)
    # the seed's engine echoes every statement; ours is quiet unless asked
    assert create_async_engine("sqlite+aiosqlite://", echo=True).echo is True
    assert Database("sqlite+aiosqlite://").engine.echo is False
