"""Reads of a model whose primary key has two columns (a link table): by key, many keys,
projected, cursor pages and streams, on every backend; a key of the wrong shape is an
`InvalidDataError`, never SQLAlchemy's exception."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from sqlmodel_async import Database, InvalidDataError, NotFoundError, Repository

from .support.databases import database_fixture


class Base(SQLModel, registry=registry()):
    pass


class Book(Base, table=True):
    __tablename__ = "r_book"

    id: int | None = Field(default=None, primary_key=True)
    title: str


class Tag(Base, table=True):
    __tablename__ = "r_tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str


class BookTag(Base, table=True):
    __tablename__ = "r_book_tag"

    book_id: int = Field(foreign_key="r_book.id", primary_key=True)
    tag_id: int = Field(foreign_key="r_tag.id", primary_key=True)
    note: str = ""


class BookTagPublic(SQLModel):
    book_id: int
    tag_id: int
    note: str


SECRET = "composite-tests-secret-0123456789"
BAD_KEYS: list[Any] = [1, (1,), (1, 2, 3), [1], {"book_id": 1}, {"book_id": 1, "tag": 2}]


async def fill_shelf(database: Database) -> None:
    """Three books, three tags, seven links."""
    async with database.transaction() as session:
        session.add_all([Book(id=n, title=f"Book {n}") for n in (1, 2, 3)])
        session.add_all([Tag(id=n, name=f"Tag {n}") for n in (1, 2, 3)])
        await session.flush()
        links = [(1, 1), (1, 2), (1, 3), (2, 1), (2, 3), (3, 2), (3, 3)]
        session.add_all(
            BookTag(book_id=b, tag_id=t, note="ab"[(b + t) % 2]) for b, t in links
        )


shelf = database_fixture(Base.metadata, seed=fill_shelf)


async def test_by_key(shelf: Database) -> None:
    async with shelf.session() as session:
        links = Repository(BookTag, session)
        found = await links.get((1, 2))
        assert found is not None and (found.book_id, found.tag_id) == (1, 2)
        assert await links.get({"tag_id": 3, "book_id": 2}) is not None
        assert await links.get([3, 1]) is None
        with pytest.raises(NotFoundError):
            await links.get_one((3, 1))
        many = await links.get_many([(2, 3), (1, 1), {"book_id": 3, "tag_id": 2}])
        assert [(link.book_id, link.tag_id) for link in many] == [(2, 3), (1, 1), (3, 2)]
        with pytest.raises(NotFoundError) as missing:
            await links.get_many([(1, 1), (9, 9)])
        assert missing.value.missing == [(9, 9)]
        assert len(await links.get_many([(1, 1), (9, 9)], missing="skip")) == 1
        for key in BAD_KEYS:
            with pytest.raises(InvalidDataError):
                await links.get(key)
            with pytest.raises(InvalidDataError):
                await links.get_many([(1, 1), key])


@pytest.mark.parametrize("source", ["session", "reader"])
async def test_projected_by_key(shelf: Database, source: str) -> None:
    async with shelf.session() as session, shelf.reader() as reader:
        links = (
            Repository(BookTag, session).project(BookTagPublic) if source == "session"
            else reader.project(BookTag, BookTagPublic)
        )
        assert await links.get((1, 3)) == BookTagPublic(book_id=1, tag_id=3, note="a")
        assert await links.get({"book_id": 3, "tag_id": 2}) is not None
        assert await links.get((3, 1)) is None
        with pytest.raises(NotFoundError):
            await links.get_json((3, 1))
        assert await links.get_json((2, 1)) == b'{"book_id":2,"tag_id":1,"note":"b"}'
        for key in BAD_KEYS:
            with pytest.raises(InvalidDataError):
                await links.get(key)


async def test_cursor_pages_and_streams_walk_every_row_once(shelf: Database) -> None:
    every = [(1, 1), (1, 2), (1, 3), (2, 1), (2, 3), (3, 2), (3, 3)]
    async with shelf.session() as session, shelf.reader() as reader:
        links = Repository(BookTag, session)
        assert [(x.book_id, x.tag_id) async for x in links.stream(batch_size=2)] == every
        projected = reader.project(BookTag, BookTagPublic)
        streamed = [(x.book_id, x.tag_id) async for x in projected.stream(batch_size=3)]
        assert streamed == every
        for walker in (links, projected):
            seen: list[tuple[int, int]] = []
            after = None
            while True:
                page: Any = await walker.paginate_cursor(
                    limit=2, after=after, order_by=[BookTag.note], secret=SECRET
                )
                seen += [(x.book_id, x.tag_id) for x in page.items]
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            # by note, then by the whole key
            assert seen == sorted(every, key=lambda k: ("ab"[sum(k) % 2], k))
        numbered = await projected.paginate(page=2, size=3)
        assert [(x.book_id, x.tag_id) for x in numbered.items] == every[3:6]
