"""Optimistic concurrency: a version column turns a lost update into `ConcurrentUpdateError`
(409 over HTTP), on every backend; bulk writes bump the version so ORM readers notice."""

from __future__ import annotations

import logging

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.orm import exc as orm_exc
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import (
    ConcurrentUpdateError,
    ConflictError,
    Database,
    NotFoundError,
    Repository,
    TransientError,
    is_transient,
)
from sqlmodel_async.fastapi import SessionDep, add_exception_handlers, error_response

from .models import Account


async def _account(db: Database, owner: str = "ann", balance: int = 10) -> int:
    async with db.transaction() as session:
        account = await Repository(Account, session).create({"owner": owner, "balance": balance})
        assert account.id is not None
        return account.id


async def _row(db: Database, key: int) -> dict[str, object]:
    async with db.engine.connect() as connection:
        table = Account.__table__  # type: ignore[attr-defined]
        row = (await connection.execute(sa.select(table).where(table.c.id == key))).one()
        return dict(row._mapping)


async def test_second_writer_of_a_stale_read_is_refused(db: Database) -> None:
    """Both read version 1; the first write wins (version 2); the second, based on what it
    read, is refused instead of overwriting the first, and nothing of it is written."""
    key = await _account(db)
    async with db.session() as first, db.session() as second:
        mine, theirs = Repository(Account, first), Repository(Account, second)
        await mine.get_one(key)
        stale = await theirs.get_one(key)
        await second.commit()  # the read's transaction ends, as a request's would

        await mine.update(key, {"balance": 20})
        await first.commit()
        with pytest.raises(ConcurrentUpdateError) as caught:
            await theirs.update(key, {"balance": 30, "note": "lost?"})
        assert isinstance(caught.value, ConflictError)
        assert "read it again" in caught.value.detail
        assert not is_transient(caught.value)

        # The refused write is not in the database; the object shows the winner's row.
        assert await _row(db, key) == {
            "id": key, "owner": "ann", "balance": 20, "note": None, "version": 2
        }
        assert (stale.balance, stale.note, stale.version) == (20, None, 2)

        # The session stays usable: a write from the fresh read goes through.
        await theirs.update(key, {"note": "after"})
        await theirs.create({"owner": "bob"})
        await second.commit()
    assert await _row(db, key) == {
        "id": key, "owner": "ann", "balance": 20, "note": "after", "version": 3
    }


async def test_conflict_inside_a_transaction_keeps_its_earlier_work(db: Database) -> None:
    """Read and write in one open transaction (PostgreSQL READ COMMITTED, InnoDB
    REPEATABLE READ): the refused write is undone alone (its savepoint) and the
    transaction's earlier work commits."""
    if db.backend.name == "sqlite":
        pytest.skip("SQLite: one writer at a time (see the snapshot test below)")
    key = await _account(db)
    async with db.session() as first, db.session() as second:
        theirs = Repository(Account, second)
        await theirs.create({"owner": "earlier"})
        # Read inside the open transaction; kept referenced, or the session's weak identity
        # map forgets it and update() reads the row afresh.
        read = await theirs.get_one(key)
        await Repository(Account, first).update(key, {"balance": 20})
        await first.commit()
        with pytest.raises(ConcurrentUpdateError):
            await theirs.update(key, {"balance": 30})
        assert read.version == 2  # re-read
        await second.commit()
        assert await theirs.exists(owner="earlier")
    assert (await _row(db, key))["balance"] == 20


async def test_sqlite_stale_snapshot_is_transient_never_an_overwrite(db: Database) -> None:
    """SQLite cannot upgrade a read snapshot to a writer once another connection has
    committed: a TransientError (run_in_transaction runs the unit again, from a fresh
    read), and the other connection's write stays."""
    if db.backend.name != "sqlite":
        pytest.skip("SQLite's snapshot rule")
    key = await _account(db)
    async with db.session() as first, db.session() as second:
        theirs = Repository(Account, second)
        read = await theirs.get_one(key)  # in the open transaction, kept referenced
        await Repository(Account, first).update(key, {"balance": 20})
        await first.commit()
        with pytest.raises(TransientError):
            await theirs.update(key, {"balance": 30})
        assert read in second
    assert (await _row(db, key))["balance"] == 20


async def test_stale_delete_is_refused(db: Database) -> None:
    key = await _account(db)
    async with db.session() as first, db.session() as second:
        read = await Repository(Account, second).get_one(key)
        await second.commit()
        await Repository(Account, first).update(key, {"balance": 20})
        await first.commit()
        with pytest.raises(ConcurrentUpdateError):
            await Repository(Account, second).delete(key)
        assert read.version == 2
        await second.commit()
    assert (await _row(db, key))["version"] == 2


async def test_update_of_a_row_deleted_meanwhile_is_not_found(db: Database) -> None:
    key = await _account(db)
    async with db.session() as first, db.session() as second:
        read = await Repository(Account, second).get_one(key)
        await second.commit()
        assert await Repository(Account, first).delete(key)
        await first.commit()
        with pytest.raises(NotFoundError):
            await Repository(Account, second).update(key, {"balance": 30})
        # usable afterwards, and the row was not brought back
        assert read not in second
        assert await Repository(Account, second).get(key) is None


async def test_run_in_transaction_retries_conflicts_only_when_asked(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Work that starts from a stale copy (version 1 while the row is at 2) conflicts;
    with `retry_on=` the whole unit runs again and its fresh read succeeds (and the log
    names the conflict, not a "transient" error)."""
    key = await _account(db)
    async with db.session() as session:
        stale = await Repository(Account, session).get_one(key)
    async with db.transaction() as session:
        await Repository(Account, session).update(key, {"balance": 20})
    attempts = 0

    async def deposit(session: AsyncSession) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            account = await session.merge(stale, load=False)  # the stale copy
        else:
            account = await Repository(Account, session).get_one(key)
        account.balance += 5
        session.add(account)
        await session.flush()
        return account.balance

    with pytest.raises(ConcurrentUpdateError):
        await db.run_in_transaction(deposit, retries=3, backoff=0)
    assert attempts == 1
    attempts = 0
    caplog.set_level(logging.WARNING, logger="sqlmodel_async.retry")
    assert await db.run_in_transaction(
        deposit, retries=3, backoff=0, retry_on=(ConcurrentUpdateError,)
    ) == 25
    assert attempts == 2
    [retried] = [r for r in caplog.records if r.name == "sqlmodel_async.retry"]
    assert retried.getMessage().startswith("ConcurrentUpdateError on attempt 1 of 4")
    assert retried.reason == "ConcurrentUpdateError"  # type: ignore[attr-defined]
    assert await _row(db, key) == {
        "id": key, "owner": "ann", "balance": 25, "note": None, "version": 3
    }


async def test_bulk_update_and_upsert_bump_the_version(db: Database) -> None:
    """Bulk writes bypass the ORM's check but bump the version, so an ORM write based on
    a read from before them is refused; objects in the writing session are kept current."""
    key = await _account(db)
    other = await _account(db, "bob", 1)
    async with db.session() as reader:
        read = await Repository(Account, reader).get_one(key)
        await reader.commit()
        async with db.transaction() as session:
            accounts = Repository(Account, session)
            seen = await accounts.get_one(other)
            assert await accounts.update_many([{"id": key, "balance": 11}, {"id": other}]) == 2
            assert await accounts.update_many([{"id": other, "balance": 2}]) == 1
            assert seen.version == 2  # synced with the row
            await accounts.update(other, {"note": "orm after bulk"})
        with pytest.raises(ConcurrentUpdateError):
            await Repository(Account, reader).update(key, {"balance": 99})
        assert read.version == 2
    assert (await _row(db, key))["version"] == 2
    assert await _row(db, other) == {
        "id": other, "owner": "bob", "balance": 2, "note": "orm after bulk", "version": 3
    }

    async with db.transaction() as session:
        accounts = Repository(Account, session)
        rows = [{"owner": "ann", "balance": 12}, {"owner": "cy", "balance": 3}]
        assert await accounts.upsert_many(rows, conflict=["owner"]) == 2
        # do nothing on conflict: nothing changes, no bump
        assert await accounts.upsert_many([{"owner": "ann", "balance": 0}],
                                          conflict=["owner"], update=[]) == 1
        # a row that sets the version itself keeps it
        assert await accounts.update_many([{"id": other, "version": 7}]) == 1
    assert (await _row(db, key))["version"] == 3
    assert (await _row(db, key))["balance"] == 12
    assert (await _row(db, other))["version"] == 7
    async with db.session() as session:
        created = await Repository(Account, session).first(owner="cy")
        assert created is not None and created.version == 1


def test_error_response_is_409_with_a_detail() -> None:
    stale = orm_exc.StaleDataError("UPDATE statement on table 't' expected to update 1 row(s)")
    for error in (stale, ConcurrentUpdateError("x", detail="changed meanwhile")):
        response = error_response(error)
        assert response.status_code == 409
        assert b'"detail"' in response.body
        assert b"UPDATE" not in response.body


async def test_concurrent_update_over_http_is_409(db: Database) -> None:
    """A handler whose commit flushes a stale write (raw StaleDataError from SQLAlchemy)."""
    app = FastAPI()
    app.state.database = db  # as lifespan(db) would (ASGITransport runs no lifespan)
    add_exception_handlers(app)
    key = await _account(db)
    async with db.session() as session:
        stale = await Repository(Account, session).get_one(key)
    async with db.transaction() as session:
        await Repository(Account, session).update(key, {"balance": 20})

    @app.post("/stale")
    async def write_stale(session: SessionDep) -> dict[str, bool]:
        account = await session.merge(stale, load=False)
        account.balance = 1
        await session.commit()
        return {"ok": True}

    @app.patch("/accounts/{account_id}")
    async def patch(account_id: int, session: SessionDep) -> dict[str, bool]:
        read = await Repository(Account, session).get_one(account_id)
        await session.commit()
        async with db.transaction() as other:  # someone else writes in between
            await Repository(Account, other).update(account_id, {"note": "theirs"})
        await Repository(Account, session).update(account_id, {"note": "mine"})
        await session.commit()
        return {"ok": read.note == "mine"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for response in (await client.post("/stale"), await client.patch(f"/accounts/{key}")):
            assert response.status_code == 409, response.text
            assert "read it again" in response.json()["detail"]
    row = await _row(db, key)
    assert (row["balance"], row["note"], row["version"]) == (20, "theirs", 3)
