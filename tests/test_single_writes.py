"""Repository.create / update / delete by key: one statement each (no read first), the
database's values back on the instance, the session's instances kept honest, and a
refused write that leaves the caller's transaction and its earlier work intact."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from sqlmodel_async import (
    ConcurrentUpdateError,
    Database,
    DuplicateKeyError,
    ForeignKeyError,
    InvalidDataError,
    NotFoundError,
    Repository,
)

from .support.recorders import queries, sent
from .write_models import Author, Badge, Book, BookTag, Counter, Fan, Tag


def savepoints(db: Database, writes: int = 1) -> int:
    """Statements `writes` writes add to protect a transaction that already did work: on
    PostgreSQL a SAVEPOINT before the first, then RELEASE + SAVEPOINT before each next one
    (one message on the driver's own path, two statements where a listener watches, as
    here); none where a refused statement undoes itself."""
    return 2 * writes - 1 if db.backend.name == "postgresql" and writes else 0


def update_statements(db: Database) -> int:
    """MariaDB/MySQL have no UPDATE ... RETURNING: the row is read back after the write."""
    return 1 if db.backend.name != "mysql" else 2


async def test_create_is_one_insert_with_the_databases_values(wdb: Database) -> None:
    async with wdb.transaction() as session:
        with sent(wdb) as seen:
            counter = await Repository(Counter, session).create({"label": "a"})
        assert len(seen) == 1 and seen[0].startswith("INSERT"), seen
        # the key, the server default and the version came back with the row
        assert counter.id is not None and counter.kind == "plain" and counter.version == 1
        state = sa.inspect(counter)
        assert state.persistent and counter in session and not session.dirty
        counter.hits = 5  # later ORM changes flush and commit as before
    async with wdb.session() as session:
        stored = await Repository(Counter, session).get_one(counter.id)
        assert (stored.hits, stored.kind, stored.version) == (5, "plain", 2)


async def test_create_from_a_schema_validates_it_once(wdb: Database) -> None:
    from sqlmodel import SQLModel

    class FanCreate(SQLModel):
        name: str
        age: int | None = None

    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        fan = await fans.create(FanCreate(name="x", age=3))
        assert (fan.name, fan.age, fan.club_id) == ("x", 3, None)
        with pytest.raises(ValidationError):
            await fans.create({"name": "y", "age": "old"})
        with pytest.raises(InvalidDataError, match="bogus"):
            await fans.create({"name": "y", "bogus": 1})


async def test_update_is_one_statement_without_a_read(wdb: Database) -> None:
    async with wdb.transaction() as session:
        counter = await Repository(Counter, session).create({"label": "a"})
    async with wdb.transaction() as session:
        with sent(wdb) as seen:
            updated = await Repository(Counter, session).update(counter.id, {"hits": "7"})
        assert len(seen) == update_statements(wdb), seen
        assert seen[0].startswith("UPDATE")
        assert (updated.hits, updated.version, updated.kind) == (7, 2, "plain")
        assert sa.inspect(updated).persistent and not session.dirty
        # a whole model instance, as a read would give (schemas validate from it)
        assert updated.model_dump() == {
            "id": counter.id, "label": "a", "hits": 7, "kind": "plain", "version": 2
        }
    async with wdb.session() as session:
        assert (await Repository(Counter, session).get_one(counter.id)).version == 2


async def test_delete_is_one_statement_without_a_read(wdb: Database) -> None:
    async with wdb.transaction() as session:
        fan = await Repository(Fan, session).create({"name": "x"})
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        with sent(wdb) as seen:
            assert await fans.delete(fan.id) is True
        assert len(seen) == 1 and seen[0].startswith("DELETE"), seen
        with sent(wdb) as seen:
            assert await fans.delete(fan.id) is False
        assert len(seen) == 1 + savepoints(wdb), seen


async def test_savepoint_only_where_earlier_work_is_at_stake(wdb: Database) -> None:
    """The first write of a transaction sends no SAVEPOINT; later ones do on PostgreSQL
    only, always under the same name (prepared once)."""
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        with sent(wdb) as first:
            a = await fans.create({"name": "a"})
        with sent(wdb) as later:
            await fans.create({"name": "b"})
            await fans.update(a.id, {"age": 3})
            await fans.delete(a.id)
    assert not [s for s in first if "SAVEPOINT" in s]
    marks = [s for s in later if "SAVEPOINT" in s]
    assert len(marks) == savepoints(wdb, 3)
    assert len(set(marks)) <= 2  # one SAVEPOINT text and one RELEASE text
    assert len(later) == 3 + savepoints(wdb, 3) + update_statements(wdb) - 1


async def test_update_of_a_missing_row_is_not_found(wdb: Database) -> None:
    async with wdb.transaction() as session:
        with pytest.raises(NotFoundError):
            await Repository(Fan, session).update(12345, {"age": 1})
        with pytest.raises(NotFoundError):
            await Repository(Counter, session).update(12345, {"hits": 1})


async def test_update_checks_the_version_the_caller_knows(wdb: Database) -> None:
    """`data`'s version, else the session's instance's: a row that moved on is a
    ConcurrentUpdateError (told apart from a missing row by a second statement, sent on
    that path only)."""
    async with wdb.transaction() as session:
        counter = await Repository(Counter, session).create({"label": "a"})
    async with wdb.transaction() as session:
        await Repository(Counter, session).update(counter.id, {"hits": 1})  # version 2
    async with wdb.transaction() as session:
        counters = Repository(Counter, session)
        with pytest.raises(ConcurrentUpdateError, match="version"):
            await counters.update(counter.id, {"hits": 5, "version": 1})
        updated = await counters.update(counter.id, {"hits": 5, "version": 2})
        assert (updated.hits, updated.version) == (5, 3)
    async with wdb.session() as session:
        assert (await Repository(Counter, session).get_one(counter.id)).hits == 5


async def test_update_refreshes_the_sessions_instance(wdb: Database) -> None:
    async with wdb.transaction() as session:
        fan = await Repository(Fan, session).create({"name": "x", "age": 1})
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        loaded = await fans.get_one(fan.id)
        updated = await fans.update(fan.id, {"age": 2})
        assert updated is loaded and loaded.age == 2
        assert loaded not in session.dirty


async def test_pending_orm_changes_are_flushed_first(wdb: Database) -> None:
    async with wdb.transaction() as session:
        author = Author(name="a")
        session.add(author)
        await session.flush()
        book = Book(title="t", author_id=author.id)  # type: ignore[arg-type]
        session.add(book)  # pending: the DELETE below must see it
        with pytest.raises(ForeignKeyError):
            await Repository(Author, session).delete(author.id)
        assert await Repository(Book, session).count() == 1


async def test_primary_key_change_and_unknown_fields_are_refused(wdb: Database) -> None:
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        fan = await fans.create({"name": "x"})
        with pytest.raises(InvalidDataError, match="primary key"):
            await fans.update(fan.id, {"id": 999, "name": "y"})
        with pytest.raises(InvalidDataError, match="bogus"):
            await fans.update(fan.id, {"bogus": 1})
        with pytest.raises(ValidationError):
            await fans.update(fan.id, {"name": None})
        assert (await fans.update(fan.id, {"id": fan.id, "age": 4})).age == 4


async def test_refused_writes_keep_the_transactions_earlier_work(wdb: Database) -> None:
    """Duplicate key, unknown foreign key, still-referenced row: each refused write is
    undone alone; the transaction goes on and commits its earlier and later work."""
    async with wdb.transaction() as session:
        author = await Repository(Author, session).create({"name": "kept"})
        await Repository(Book, session).create({"title": "t", "author_id": author.id})
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        first = await fans.create({"name": "first"})
        with pytest.raises(DuplicateKeyError) as duplicate:
            await fans.create({"name": "first"})
        assert duplicate.value.column == "name"
        with pytest.raises(ForeignKeyError) as missing:
            await fans.update(first.id, {"club_id": 4242})
        assert missing.value.column == "club_id" and missing.value.missing_reference
        with pytest.raises(ForeignKeyError) as referenced:
            await Repository(Author, session).delete(author.id)
        assert not referenced.value.missing_reference
        await fans.create({"name": "second"})
        assert first.club_id is None
    async with wdb.session() as session:
        names = [fan.name for fan in await Repository(Fan, session).list()]
        assert names == ["first", "second"]
        assert await Repository(Author, session).exists(name="kept")


async def test_writes_between_the_callers_own_savepoints(wdb: Database) -> None:
    """The write savepoint stays set from one write to the next; savepoints of the
    caller's (begin_nested) set before, around or after it keep working, and a refused
    write anywhere undoes only itself."""
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        await fans.create({"name": "a"})
        await fans.create({"name": "b"})
        nested = await session.begin_nested()
        await fans.create({"name": "c"})
        with pytest.raises(DuplicateKeyError):
            await fans.create({"name": "a"})
        c = await fans.first(name="c")
        assert c is not None
        await fans.update(c.id, {"age": 9})
        await nested.rollback()  # c is gone with the caller's savepoint
        await fans.create({"name": "d"})
        async with session.begin_nested():
            await fans.create({"name": "e"})
        with pytest.raises(DuplicateKeyError):
            await fans.create({"name": "e"})
        b = await fans.first(name="b")
        assert b is not None
        await fans.delete(b.id)
        await fans.create({"name": "f"})
    async with wdb.session() as session:
        names = sorted(fan.name for fan in await Repository(Fan, session).list())
    assert names == ["a", "d", "e", "f"]


async def test_a_refusal_first_in_a_transaction_rolls_it_back_and_goes_on(wdb: Database) -> None:
    async with wdb.transaction() as session:
        await Repository(Fan, session).create({"name": "x"})
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        with pytest.raises(DuplicateKeyError):
            await fans.create({"name": "x"})
        await fans.create({"name": "y"})
    async with wdb.session() as session:
        assert await Repository(Fan, session).count() == 2


async def test_a_write_rolled_back_by_the_scope_is_gone(wdb: Database) -> None:
    """The statement runs in the session's transaction (on asyncpg too, where it is sent
    to the driver directly): a rollback takes it back."""
    async with wdb.session() as session:
        fans = Repository(Fan, session)
        fan = await fans.create({"name": "x"})
        await session.rollback()
        assert fan not in session and sa.inspect(fan).transient
        await fans.create({"name": "y"})
        await session.commit()
    async with wdb.session() as session:
        assert [f.name for f in await Repository(Fan, session).list()] == ["y"]


# --- composite keys ---------------------------------------------------------------------


async def _link(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        author = await Repository(Author, session).create({"name": "a"})
        book = await Repository(Book, session).create({"title": "t", "author_id": author.id})
        tag = await Repository(Tag, session).create({"name": "n"})
        assert book.id is not None and tag.id is not None
        await Repository(BookTag, session).create({"book_id": book.id, "tag_id": tag.id})
        return book.id, tag.id


async def test_composite_keys_update_and_delete(wdb: Database) -> None:
    book_id, tag_id = await _link(wdb)
    async with wdb.transaction() as session:
        links = Repository(BookTag, session)
        with sent(wdb) as seen:
            updated = await links.update((book_id, tag_id), {"note": "x"})
        assert len(seen) == update_statements(wdb)
        assert updated.note == "x"
        same = await links.update({"tag_id": tag_id, "book_id": book_id}, {"note": "y"})
        assert same is updated and same.note == "y"
        with pytest.raises(InvalidDataError, match="wrong shape"):
            await links.update(book_id, {"note": "z"})
        with pytest.raises(InvalidDataError, match="primary key"):
            await links.update((book_id, tag_id), {"tag_id": tag_id + 1})
        with pytest.raises(NotFoundError):
            await links.update((book_id, tag_id + 1), {"note": "z"})
        with pytest.raises(InvalidDataError, match="wrong shape"):
            await links.delete((book_id,))
        assert await links.delete((book_id, tag_id)) is True
        assert updated not in session
        assert await links.delete([book_id, tag_id]) is False
    async with wdb.session() as session:
        assert await Repository(BookTag, session).count() == 0


async def test_writes_go_to_the_driver_inside_the_sessions_transaction(
    wdb: Database,
) -> None:
    """The direct path (_channel.py, each backend's `driver_calls`): with nothing
    listening, the statements go to the driver itself, inside the session's transaction
    (asyncpg's adapter begun as the adapter would begin it), and a rollback takes the
    writes back."""
    from sqlmodel_async._channel import Channel
    from sqlmodel_async._compat import adapter_in_transaction

    postgresql = wdb.backend.name == "postgresql"
    async with wdb.session() as session:
        channel = await Channel.open(session, wdb.backend, sa.inspect(Fan))
        assert channel._raw is not None
        adapter = channel._raw.dbapi_connection
        if postgresql:
            assert not adapter_in_transaction(adapter)  # begun lazily, before a statement
        fan = await Repository(Fan, session).create({"name": "x"})
        if postgresql:
            assert adapter_in_transaction(adapter)
        await Repository(Fan, session).update(fan.id, {"age": 3})
        await Repository(Fan, session).create({"name": "y"})
        await session.rollback()
    async with wdb.session() as session:
        assert await Repository(Fan, session).count() == 0
    with queries(wdb):  # a listener: SQLAlchemy's path, so it sees every statement
        async with wdb.session() as session:
            assert (await Channel.open(session, wdb.backend, sa.inspect(Fan)))._raw is None


async def test_created_values_are_validated_as_the_model_validates(wdb: Database) -> None:
    """A mapping is validated with the model's field types and its own validators; a
    refusal is pydantic's ValidationError titled with the model's name; a Create schema
    gets the model's defaults for the fields it does not have."""
    async with wdb.transaction() as session:
        badge = await Repository(Badge, session).create({"code": "  ab "})
        assert badge.code == "AB"
        counter = await Repository(Counter, session).create({"label": "v", "hits": "3"})
        assert counter.hits == 3
        with pytest.raises(ValidationError) as refused:
            await Repository(Counter, session).create({"label": "w", "hits": "many"})
        assert refused.value.title == "Counter"

        class CounterCreate(BaseModel):
            label: str

        made = await Repository(Counter, session).create(CounterCreate(label="x"))
        assert (made.hits, made.version, made.kind) == (0, 1, "plain")


async def test_single_writes_and_bulk_calls_share_one_savepoint(wdb: Database) -> None:
    """Writes and bulk calls take turns in one transaction, some refused: each refusal
    undoes only itself, whichever kind came before it."""
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        await fans.create({"name": "a"})
        await fans.create_many([{"name": "b"}, {"name": "c"}])
        await fans.create({"name": "d"})
        with pytest.raises(DuplicateKeyError):
            await fans.create_many([{"name": "e"}, {"name": "a"}])
        await fans.create_many([{"name": "f"}])
        with pytest.raises(DuplicateKeyError):
            await fans.create({"name": "f"})
        c, d = await fans.first(name="c"), await fans.first(name="d")
        assert c is not None and d is not None
        await fans.update_many([{"id": c.id, "age": 5}])
        with pytest.raises(DuplicateKeyError):
            await fans.update_many([{"id": d.id, "name": "a"}])
        await fans.create({"name": "g"})
    async with wdb.session() as session:
        rows = sorted((f.name, f.age) for f in await Repository(Fan, session).list())
    assert rows == [("a", None), ("b", None), ("c", 5), ("d", None), ("f", None), ("g", None)]
