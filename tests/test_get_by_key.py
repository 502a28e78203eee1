"""Repository.get(key) in one statement: the session's instance, the identity map first,
the database's values, and (PostgreSQL at READ COMMITTED) a first read sent before BEGIN
that leaves the transaction's later work exactly as it was."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from sqlmodel_async import Database, Repository
from sqlmodel_async._compat import adapter_in_transaction

from .write_models import Counter, Fan, Mood, Reading


async def test_get_gives_the_sessions_instance_with_the_databases_values(wdb: Database) -> None:
    async with wdb.transaction() as session:
        counter = await Repository(Counter, session).create({"label": "a"})
    async with wdb.session() as session:
        counters = Repository(Counter, session)
        found = await counters.get(counter.id)
        assert found is not None
        assert found.model_dump() == {
            "id": counter.id, "label": "a", "hits": 0, "kind": "plain", "version": 1
        }
        assert sa.inspect(found).persistent and not session.dirty
        assert await counters.get(counter.id) is found  # the identity map answers
        assert await counters.get(counter.id + 1000) is None
        found.hits = 5  # an ordinary ORM instance: changes flush and commit
        await session.commit()
    async with wdb.session() as session:
        again = await Repository(Counter, session).get(counter.id)
        assert again is not None and (again.hits, again.version) == (5, 2)


async def test_get_sees_pending_changes_of_the_session(wdb: Database) -> None:
    """Pending objects are flushed first (autoflush), as for any ORM read."""
    async with wdb.transaction() as session:
        fan = Fan(name="pending")
        session.add(fan)
        await session.flush()
        fan.age = 40
        found = await Repository(Fan, session).get(fan.id)
        assert found is fan and found.age == 40


async def test_a_first_read_before_begin_leaves_the_transaction_whole(wdb: Database) -> None:
    """On PostgreSQL the first read of a READ COMMITTED transaction runs before BEGIN;
    the writes after it are still one transaction that a rollback undoes."""
    async with wdb.transaction() as session:
        kept = await Repository(Fan, session).create({"name": "kept"})
    async with wdb.session() as session:
        fans = Repository(Fan, session)
        found = await fans.get(kept.id)
        assert found is not None
        if wdb.backend.name == "postgresql":
            connection = await session.connection()
            adapter = (await connection.get_raw_connection()).dbapi_connection
            assert not adapter_in_transaction(adapter)
        await fans.update(kept.id, {"age": 1})
        await fans.create({"name": "gone"})
        await session.rollback()
    async with wdb.session() as session:
        rows = [(fan.name, fan.age) for fan in await Repository(Fan, session).list()]
    assert rows == [("kept", None)]


async def test_a_read_in_a_stricter_isolation_stays_inside_the_transaction(
    wdb: Database,
) -> None:
    """REPEATABLE READ takes its snapshot at the first statement: that read must be in
    the transaction, so a row written after it by another transaction stays unseen."""
    async with wdb.transaction() as session:
        first = await Repository(Fan, session).create({"name": "first"})
        second = await Repository(Fan, session).create({"name": "second"})
    if wdb.backend.name == "sqlite":
        pytest.skip("SQLite has one isolation level: serialisable")
    async with wdb.session() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        fans = Repository(Fan, session)
        assert await fans.get(first.id) is not None
        async with wdb.transaction() as other:
            await Repository(Fan, other).update(second.id, {"age": 7})
        seen = await fans.get(second.id)
        assert seen is not None and seen.age is None


async def test_converted_columns_come_back_as_the_model_holds_them(wdb: Database) -> None:
    """Decimal, JSON, enum, float and timestamp columns: the same values and types through
    create, update and get as through the ORM's own load."""
    async with wdb.transaction() as session:
        readings = Repository(Reading, session)
        made = await readings.create(
            {"amount": Decimal("12.3400"), "payload": {"a": [1, 2]}, "mood": Mood.loud}
        )
        changed = await readings.update(made.id, {"amount": "0.5", "ratio": 2})
    assert (made.mood, made.payload) == (Mood.loud, {"a": [1, 2]})
    assert changed.amount == Decimal("0.5000") and isinstance(changed.amount, Decimal)
    assert changed.ratio == 2.0 and isinstance(changed.ratio, float)
    async with wdb.session() as session:
        found = await Repository(Reading, session).get(made.id)
        loaded = (await Repository(Reading, session).list())[0]
    assert found is not None and found is loaded
    async with wdb.session() as session:
        orm = await session.get(Reading, made.id)
    assert orm is not None
    assert found.model_dump() == orm.model_dump()
    assert {name: type(value) for name, value in found.model_dump().items()} == {
        name: type(value) for name, value in orm.model_dump().items()
    }
    assert found.mood is Mood.loud
