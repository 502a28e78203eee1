"""Deletes let the database's foreign-key rules decide, whatever the ORM relationship's
options (these models have no `passive_deletes`): RESTRICT refuses with nothing changed,
CASCADE and SET NULL do what the schema says, and the session's instances follow."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sqlmodel_async import Database, ForeignKeyError, Repository

from .write_models import Author, Book, Club, Edition, Fan, Publisher


async def test_restrict_refuses_and_changes_nothing(wdb: Database) -> None:
    """The ORM would have set the loaded books' author_id to NULL first (a NOT NULL
    error, or with a nullable key a silent unlink); the database refuses instead."""
    async with wdb.transaction() as session:
        author = await Repository(Author, session).create({"name": "a"})
        await Repository(Book, session).create({"title": "t", "author_id": author.id})
    async with wdb.transaction() as session:
        authors = Repository(Author, session)
        loaded = await authors.get_one(author.id, load=[Author.books])
        with pytest.raises(ForeignKeyError) as refused:
            await authors.delete(author.id)
        assert refused.value.missing_reference is False
        assert loaded in session and [b.title for b in loaded.books] == ["t"]
        # the same refusal by filter
        with pytest.raises(ForeignKeyError):
            await authors.delete_where(name="a")
    async with wdb.session() as session:
        assert await Repository(Author, session).count() == 1
        book = await Repository(Book, session).first()
        assert book is not None and book.author_id == author.id


async def test_cascade_deletes_the_children_and_expunges_them(wdb: Database) -> None:
    async with wdb.transaction() as session:
        publisher = await Repository(Publisher, session).create({"name": "p"})
        other = await Repository(Publisher, session).create({"name": "q"})
        for year in (2001, 2002):
            edition = {"year": year, "publisher_id": publisher.id}
            await Repository(Edition, session).create(edition)
        await Repository(Edition, session).create({"year": 2003, "publisher_id": other.id})
    async with wdb.transaction() as session:
        publishers = Repository(Publisher, session)
        loaded = await publishers.get_one(publisher.id, load=[Publisher.editions])
        editions = list(loaded.editions)
        kept = await Repository(Edition, session).first(year=2003)
        assert await Repository(Publisher, session).delete(publisher.id) is True
        assert loaded not in session
        assert all(edition not in session for edition in editions)
        assert kept in session and kept is not None and kept.publisher_id == other.id
    async with wdb.session() as session:
        assert [e.year for e in await Repository(Edition, session).list()] == [2003]


async def test_set_null_unlinks_the_children_in_the_database_and_the_session(
    wdb: Database,
) -> None:
    async with wdb.transaction() as session:
        club = await Repository(Club, session).create({"name": "c"})
        for name in ("x", "y"):
            await Repository(Fan, session).create({"name": name, "club_id": club.id})
    async with wdb.transaction() as session:
        fans = await Repository(Fan, session).list(load=[Fan.club])
        assert all(fan.club is not None for fan in fans)
        assert await Repository(Club, session).delete(club.id) is True
        # told without a query: the foreign key's rule says NULL
        assert [(fan.club_id, fan.club) for fan in fans] == [(None, None), (None, None)]
        assert not session.dirty
    async with wdb.session() as session:
        stored = await Repository(Fan, session).list()
        assert [(fan.name, fan.club_id) for fan in stored] == [("x", None), ("y", None)]


async def test_deleted_child_leaves_the_loaded_collection(wdb: Database) -> None:
    async with wdb.transaction() as session:
        author = await Repository(Author, session).create({"name": "a"})
        for title in ("t1", "t2"):
            await Repository(Book, session).create({"title": title, "author_id": author.id})
    async with wdb.transaction() as session:
        loaded = await Repository(Author, session).get_one(author.id, load=[Author.books])
        first = loaded.books[0]
        assert await Repository(Book, session).delete(first.id) is True
        assert [book.title for book in loaded.books] == ["t2"]
        assert first not in session
        assert not sa.inspect(loaded).modified
