"""Every bulk call is all or nothing and leaves the caller's transaction usable: a row the
database refuses in the middle of a call (after earlier chunks or rows were sent) changes
nothing, raises the translated error, and a caller that catches it and commits keeps its
own earlier and later work and nothing of the call: the same rows on every backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import (
    Database,
    DuplicateKeyError,
    ForeignKeyError,
    InvalidDataError,
    Repository,
)
from sqlmodel_async import bulk as bulk_module
from sqlmodel_async._savepoint import NAME as SAVEPOINT

from .models import Guild, Hero, Member, Team
from .support.recorders import sent

Call = Callable[[AsyncSession], Awaitable[Any]]


async def stored(db: Database) -> list[tuple[str, str, int | None]]:
    async with db.session() as session:
        heroes = (await session.exec(select(Hero).order_by(Hero.name))).all()
        return [(hero.name, hero.secret_name, hero.team_id) for hero in heroes]


async def seed(db: Database, names: list[str]) -> dict[str, int]:
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(
            [{"name": name, "secret_name": "old"} for name in names]
        )
    return {hero.name: hero.id for hero in created if hero.id is not None}


def five(prefix: str, **changes: Any) -> list[dict[str, Any]]:
    rows = [{"name": f"{prefix}{i}", "secret_name": "new"} for i in range(5)]
    rows[2].update(changes)  # the refused row, in the middle
    return rows


# One refused call per bulk method; each is given a session whose transaction already
# wrote the hero "before". `existing` maps the seeded names to their ids.


async def create_returning(session: AsyncSession, existing: dict[str, int]) -> Any:
    return await Repository(Hero, session).create_many(five("c", name="seeded"))


async def create_count(session: AsyncSession, existing: dict[str, int]) -> Any:
    return await Repository(Hero, session).create_many(five("c", name="seeded"), returning=False)


async def update_rows(session: AsyncSession, existing: dict[str, int]) -> Any:
    rows = [{"id": existing[f"u{i}"], "secret_name": "new"} for i in range(5)]
    rows[2]["name"] = "seeded"  # a name another hero holds
    return await Repository(Hero, session).update_many(rows)


async def upsert_rows(session: AsyncSession, existing: dict[str, int]) -> Any:
    rows = [{"name": f"u{i}", "secret_name": "new"} for i in range(5)]
    rows[2]["team_id"] = 999_999  # no such team
    return await Repository(Hero, session).upsert_many(rows, conflict=["name"])


CALLS: dict[str, tuple[Call, type[Exception]]] = {
    "create_many": (create_returning, DuplicateKeyError),
    "create_many(returning=False)": (create_count, DuplicateKeyError),
    "update_many": (update_rows, DuplicateKeyError),
    "upsert_many": (upsert_rows, ForeignKeyError),
}
EXPECTED = sorted([
    ("after", "x", None), ("before", "x", None), ("seeded", "old", None),
    *[(f"u{i}", "old", None) for i in range(5)],
])


@pytest.mark.parametrize("chunk_rows", [20_000, 2], ids=["one-chunk", "chunks"])
@pytest.mark.parametrize("name", list(CALLS))
async def test_refused_call_after_earlier_work_changes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch, name: str, chunk_rows: int
) -> None:
    existing = await seed(db, ["seeded", *[f"u{i}" for i in range(5)]])
    # chunks of 2: the refused row is in the second chunk, the first one was already sent.
    monkeypatch.setattr(bulk_module, "CHUNK_ROWS", chunk_rows)
    call, error = CALLS[name]
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "before", "secret_name": "x"})
        with pytest.raises(error) as caught:
            await call(session, existing)
        # The transaction is usable (PostgreSQL would say "current transaction is aborted").
        await heroes.create({"name": "after", "secret_name": "x"})
    assert caught.value.column in {"name", "team_id"}
    assert await stored(db) == EXPECTED


@pytest.mark.parametrize("name", list(CALLS))
async def test_refused_call_in_a_fresh_transaction_leaves_the_session_usable(
    db: Database, name: str
) -> None:
    existing = await seed(db, ["seeded", *[f"u{i}" for i in range(5)]])
    call, error = CALLS[name]
    async with db.session() as session:
        with pytest.raises(error):
            await call(session, existing)
        await Repository(Hero, session).create({"name": "after", "secret_name": "x"})
        await session.commit()
    expected = [row for row in EXPECTED if row[0] != "before"]
    assert await stored(db) == expected


async def test_refused_delete_many_after_earlier_work_changes_nothing(db: Database) -> None:
    async with db.transaction() as session:
        guilds = await Repository(Guild, session).create_many(
            [{"name": f"g{i}"} for i in range(5)]
        )
        ids = [guild.id for guild in guilds]
        # The middle guild still has a member: RESTRICT refuses its deletion.
        await Repository(Member, session).create({"name": "m", "guild_id": ids[2]})
    async with db.transaction() as session:
        await Repository(Guild, session).create({"name": "before"})
        with pytest.raises(ForeignKeyError):
            await Repository(Guild, session).delete_many(ids)
        await Repository(Guild, session).create({"name": "after"})
    async with db.session() as session:
        names = [guild.name for guild in await Repository(Guild, session).list()]
    assert sorted(names) == ["after", "before", "g0", "g1", "g2", "g3", "g4"]


async def test_objects_in_the_session_keep_their_values_after_a_refused_update(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = await seed(db, ["seeded", *[f"u{i}" for i in range(5)]])
    monkeypatch.setattr(bulk_module, "CHUNK_ROWS", 2)
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        first = await heroes.get_one(existing["u0"])  # written by the first chunk
        with pytest.raises(DuplicateKeyError):
            await update_rows(session, existing)
        assert first.secret_name == "old"  # not the refused call's "new"
        again = await heroes.get_one(existing["u0"])
        assert again is first and again.secret_name == "old"
    assert await stored(db) == sorted(
        [("seeded", "old", None), *[(f"u{i}", "old", None) for i in range(5)]]
    )


async def test_a_refused_delete_keeps_the_objects_in_the_session(db: Database) -> None:
    async with db.transaction() as session:
        guilds = await Repository(Guild, session).create_many([{"name": "a"}, {"name": "b"}])
        await Repository(Member, session).create({"name": "m", "guild_id": guilds[1].id})
    async with db.transaction() as session:
        repository = Repository(Guild, session)
        loaded = await repository.list()
        with pytest.raises(ForeignKeyError):
            await repository.delete_many([guild.id for guild in loaded])
        assert all(guild in session for guild in loaded)
        assert [guild.name for guild in loaded] == ["a", "b"]


async def test_pending_objects_are_kept_when_the_call_is_refused(db: Database) -> None:
    async with db.transaction() as session:
        team = Team(name="T", headquarters="HQ")
        session.add(team)  # pending: flushed before the call, kept after its refusal
        with pytest.raises(DuplicateKeyError):
            await Repository(Hero, session).create_many(
                [{"name": "same", "secret_name": "a"}, {"name": "same", "secret_name": "b"}]
            )
        assert team.id is not None
    async with db.session() as session:
        assert [t.name for t in await Repository(Team, session).list()] == ["T"]
    assert await stored(db) == []


def savepoints(statements: list[str]) -> list[str]:
    return [s.upper() for s in statements if "SAVEPOINT" in s.upper()]


async def test_a_savepoint_only_where_something_is_at_stake(db: Database) -> None:
    rows = [{"name": f"n{i}", "secret_name": "s"} for i in range(3)]
    with sent(db) as fresh:
        async with db.transaction() as session:
            await Repository(Hero, session).create_many(rows, returning=False)
    assert savepoints(fresh) == []
    with sent(db) as busy:
        async with db.transaction() as session:
            await Repository(Hero, session).create({"name": "x", "secret_name": "s"})
            for _ in range(2):
                await Repository(Hero, session).update_many([{"name": "x", "id": 0}])
    # The same fixed name every time (prepared once per connection by asyncpg), set
    # again by each next call: released and set in one message on the driver's own path,
    # two statements where a listener watches, as here.
    name = SAVEPOINT.upper()
    assert savepoints(busy)[-3:] == [
        f"SAVEPOINT {name}", f"RELEASE SAVEPOINT {name}", f"SAVEPOINT {name}"
    ]


@pytest.mark.parametrize("returning", [False, True])
async def test_a_refused_large_create_after_earlier_work_changes_nothing(
    db: Database, returning: bool
) -> None:
    # Enough rows for PostgreSQL's COPY path (COPY_MIN_ROWS), the duplicate near the end.
    rows = [{"name": f"n{i}", "secret_name": "s"} for i in range(bulk_module.COPY_MIN_ROWS + 500)]
    rows[-100]["name"] = "before"
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "before", "secret_name": "x"})
        with pytest.raises(DuplicateKeyError) as caught:
            await heroes.create_many(rows, returning=returning)
        await heroes.create({"name": "after", "secret_name": "x"})
    assert caught.value.column == "name"
    assert await stored(db) == [("after", "x", None), ("before", "x", None)]


@pytest.mark.parametrize("refused", ["duplicate in the first chunk", "bad value in the last"])
async def test_a_refusal_while_an_earlier_chunk_is_in_flight_changes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    # Chunks big enough for COPY: on PostgreSQL one chunk's COPY is still running while the
    # next chunk is checked, so the refusal meets a statement in flight.
    monkeypatch.setattr(bulk_module, "CHUNK_ROWS", bulk_module.COPY_MIN_ROWS)
    rows: list[dict[str, Any]] = [
        {"name": f"n{i}", "secret_name": "s"} for i in range(bulk_module.COPY_MIN_ROWS * 3)
    ]
    if refused.startswith("duplicate"):
        rows[10]["name"] = "before"
        error: type[Exception] = DuplicateKeyError
    else:
        rows[-1]["age"] = "not a number"
        error = InvalidDataError
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "before", "secret_name": "x"})
        with pytest.raises(error):
            await heroes.create_many(rows, returning=False)
        await heroes.create({"name": "after", "secret_name": "x"})
    assert await stored(db) == [("after", "x", None), ("before", "x", None)]


async def test_changed_objects_are_flushed_first_and_kept_after_a_refusal(db: Database) -> None:
    existing = await seed(db, ["a", "b"])
    async with db.transaction() as session:
        hero = await Repository(Hero, session).get_one(existing["a"])
        hero.secret_name = "changed"  # not flushed yet: the bulk call flushes it first
        with pytest.raises(DuplicateKeyError):
            await Repository(Hero, session).update_many([{"id": existing["b"], "name": "a"}])
        assert hero.secret_name == "changed"
    assert await stored(db) == [("a", "changed", None), ("b", "old", None)]
