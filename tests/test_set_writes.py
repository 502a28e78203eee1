"""Repository.update_where / delete_where: one statement each, an empty filter refused
unless all=True, values checked against the model, errors translated, atomic (a refusal
keeps the transaction's earlier work), the session's instances kept honest."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from sqlmodel_async import (
    Database,
    DuplicateKeyError,
    ForeignKeyError,
    InvalidDataError,
    Repository,
)

from .support.recorders import queries, sent
from .write_models import Author, Book, BookTag, Club, Counter, Fan, Tag


async def _clubs_and_fans(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        a = await Repository(Club, session).create({"name": "a"})
        b = await Repository(Club, session).create({"name": "b"})
        for i in range(3):
            await Repository(Fan, session).create({"name": f"a{i}", "club_id": a.id, "age": i})
        await Repository(Fan, session).create({"name": "b0", "club_id": b.id, "age": 10})
        assert a.id is not None and b.id is not None
        return a.id, b.id


async def test_update_where_moves_rows_in_one_statement(wdb: Database) -> None:
    a, b = await _clubs_and_fans(wdb)
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        with sent(wdb) as seen:
            assert await fans.update_where({"club_id": b}, Fan.club_id == a) == 3
        assert len(seen) == 1 and seen[0].startswith("UPDATE"), seen
        assert await fans.update_where({"age": 1}, Fan.age > 5, club_id=b) == 1
    async with wdb.session() as session:
        fans = Repository(Fan, session)
        assert await fans.count(club_id=b) == 4
        moved = await fans.first(name="b0")
        assert moved is not None and moved.age == 1


async def test_empty_filter_is_refused_unless_all(wdb: Database) -> None:
    await _clubs_and_fans(wdb)
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        with pytest.raises(InvalidDataError, match="all=True"):
            await fans.update_where({"age": 0})
        with pytest.raises(InvalidDataError, match="all=True"):
            await fans.delete_where()
        assert await fans.update_where({"age": 0}, all=True) == 4
    async with wdb.transaction() as session:
        assert await Repository(Fan, session).delete_where(all=True) == 4
        assert await Repository(Fan, session).count() == 0


async def test_values_are_checked_against_the_model(wdb: Database) -> None:
    a, _ = await _clubs_and_fans(wdb)
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        with pytest.raises(InvalidDataError, match="bogus"):
            await fans.update_where({"bogus": 1}, club_id=a)
        with pytest.raises(ValidationError):
            await fans.update_where({"age": "old"}, club_id=a)
        with pytest.raises(InvalidDataError, match="id"):
            await fans.update_where({"id": 5}, club_id=a)
        with pytest.raises(InvalidDataError):
            await fans.update_where({}, club_id=a)
        assert await fans.update_where({"age": "7"}, club_id=a) == 3  # coerced
    async with wdb.session() as session:
        assert {f.age for f in await Repository(Fan, session).list(club_id=a)} == {7}


async def test_refusals_are_translated_and_keep_earlier_work(wdb: Database) -> None:
    a, b = await _clubs_and_fans(wdb)
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        await fans.create({"name": "earlier"})
        with pytest.raises(ForeignKeyError):
            await fans.update_where({"club_id": 4242}, club_id=a)
        with pytest.raises(DuplicateKeyError):
            await fans.update_where({"name": "same"}, club_id=a)  # three rows, one name
        assert await fans.delete_where(Fan.name == "b0") == 1
    async with wdb.session() as session:
        fans = Repository(Fan, session)
        assert await fans.exists(name="earlier")
        assert await fans.count(club_id=a) == 3 and await fans.count(club_id=b) == 0


async def test_update_where_bumps_the_version(wdb: Database) -> None:
    async with wdb.transaction() as session:
        counters = Repository(Counter, session)
        first = await counters.create({"label": "x"})
        await counters.create({"label": "y"})
    async with wdb.transaction() as session:
        counters = Repository(Counter, session)
        loaded = await counters.get_one(first.id)
        assert await counters.update_where({"hits": 3}, Counter.label.in_(["x", "y"])) == 2  # type: ignore[attr-defined]
        # the session's instance is expired, not left stale
        assert {"hits", "version"} <= sa.inspect(loaded).expired_attributes
    async with wdb.session() as session:
        rows = await Repository(Counter, session).list()
        assert [(c.hits, c.version) for c in rows] == [(3, 2), (3, 2)]


async def test_delete_where_forgets_the_sessions_instances(wdb: Database) -> None:
    a, _ = await _clubs_and_fans(wdb)
    async with wdb.transaction() as session:
        fans = Repository(Fan, session)
        loaded = await fans.list(club_id=a)
        with queries(wdb) as seen:
            assert await fans.delete_where(Fan.age < 2, club_id=a) == 2
        # one statement (in a savepoint on PostgreSQL: the transaction already read)
        assert len(seen) == 1, seen
        # the deleted rows' instances leave the session (DELETE ... RETURNING their keys)
        assert [fan in session for fan in loaded] == [False, False, True]


async def test_composite_keys_by_filter(wdb: Database) -> None:
    async with wdb.transaction() as session:
        author = await Repository(Author, session).create({"name": "a"})
        book = await Repository(Book, session).create({"title": "t", "author_id": author.id})
        tags = [await Repository(Tag, session).create({"name": n}) for n in "xyz"]
        links = Repository(BookTag, session)
        for tag in tags:
            await links.create({"book_id": book.id, "tag_id": tag.id})
        assert await links.update_where({"note": "n"}, book_id=book.id) == 3
        assert await links.delete_where(BookTag.tag_id != tags[0].id, book_id=book.id) == 2
    async with wdb.session() as session:
        rows = await Repository(BookTag, session).list()
        assert [(r.tag_id, r.note) for r in rows] == [(tags[0].id, "n")]
