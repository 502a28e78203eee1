"""Bulk calls on a link table whose primary key is two columns (Book n-m Tag through
BookTag(book_id, tag_id)): one tuple (or mapping) per row in the mapper's key order; a key
of the wrong shape is an InvalidDataError, never SQLAlchemy's exception."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, select

from sqlmodel_async import Database, DuplicateKeyError, InvalidDataError, Repository

from .support.databases import database_fixture


class Base(SQLModel, registry=registry()):
    pass


class Book(Base, table=True):
    __tablename__ = "bk_book"

    id: int | None = Field(default=None, primary_key=True)
    title: str


class Tag(Base, table=True):
    __tablename__ = "bk_tag"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(unique=True)


class BookTag(Base, table=True):
    __tablename__ = "bk_book_tag"

    book_id: int = Field(foreign_key="bk_book.id", primary_key=True)
    tag_id: int = Field(foreign_key="bk_tag.id", primary_key=True)
    weight: int = 1


db = database_fixture(Base.metadata)


@pytest.fixture
async def shelf(db: Database) -> tuple[list[int], list[int]]:
    """Three books, three tags, and every (book, tag) pair linked with weight 1."""
    async with db.transaction() as session:
        books = await Repository(Book, session).create_many(
            [{"title": f"b{i}"} for i in range(3)]
        )
        tags = await Repository(Tag, session).create_many([{"label": f"t{i}"} for i in range(3)])
        book_ids = [book.id for book in books if book.id is not None]
        tag_ids = [tag.id for tag in tags if tag.id is not None]
        await Repository(BookTag, session).create_many(
            [{"book_id": b, "tag_id": t} for b in book_ids for t in tag_ids], returning=False
        )
    return book_ids, tag_ids


async def links(db: Database) -> dict[tuple[int, int], int]:
    async with db.session() as session:
        rows = (await session.exec(select(BookTag))).all()
        return {(row.book_id, row.tag_id): row.weight for row in rows}


async def test_delete_many_takes_tuples_and_mappings(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, b1, b2), (t0, t1, t2) = shelf
    async with db.transaction() as session:
        deleted = await Repository(BookTag, session).delete_many(
            [(b0, t0), [b1, t1], {"tag_id": t2, "book_id": b2}, (b0, t0), (b2, 999_999)]
        )
    assert deleted == 3  # a key given twice is deleted once; a missing pair is not counted
    remaining = await links(db)
    assert len(remaining) == 6
    assert not {(b0, t0), (b1, t1), (b2, t2)} & set(remaining)


@pytest.mark.parametrize("key", [1, (1,), (1, 2, 3), {"book_id": 1}, {"book_id": 1, "x": 2}])
async def test_a_key_of_the_wrong_shape_is_invalid_data(
    db: Database, shelf: tuple[list[int], list[int]], key: Any
) -> None:
    (b0, _, _), (t0, _, _) = shelf
    async with db.transaction() as session:
        with pytest.raises(InvalidDataError, match="book_id, tag_id"):
            await Repository(BookTag, session).delete_many([(b0, t0), key])
    assert len(await links(db)) == 9  # nothing deleted, not even the valid first key


async def test_update_many_matches_every_key_column(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, b1, _), (t0, t1, _) = shelf
    async with db.transaction() as session:
        updated = await Repository(BookTag, session).update_many([
            {"book_id": b1, "tag_id": t0, "weight": 5},
            {"book_id": b0, "tag_id": t1, "weight": 7},
            {"book_id": b0, "tag_id": 999_999, "weight": 9},  # no such pair
        ])
    assert updated == 2
    weights = await links(db)
    assert (weights[(b1, t0)], weights[(b0, t1)]) == (5, 7)
    assert sum(weights.values()) == 9 - 2 + 5 + 7  # the others untouched


async def test_update_many_with_only_keys_counts_existing_pairs(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, b1, _), (t0, _, _) = shelf
    async with db.transaction() as session:
        found = await Repository(BookTag, session).update_many([
            {"book_id": b0, "tag_id": t0}, {"book_id": b1, "tag_id": 999_999},
        ])
    assert found == 1


async def test_update_many_needs_every_key_column(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, _, _), _ = shelf
    async with db.transaction() as session:
        with pytest.raises(InvalidDataError, match="tag_id"):
            await Repository(BookTag, session).update_many([{"book_id": b0, "weight": 3}])


async def test_upsert_many_defaults_to_the_primary_key(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, b1, _), (t0, _, _) = shelf
    async with db.transaction() as session:
        await Repository(BookTag, session).delete_many([(b1, t0)])
        written = await Repository(BookTag, session).upsert_many([
            {"book_id": b0, "tag_id": t0, "weight": 4},  # exists: updated
            {"book_id": b1, "tag_id": t0, "weight": 6},  # gone: inserted again
        ])
    assert written == 2
    weights = await links(db)
    assert (weights[(b0, t0)], weights[(b1, t0)]) == (4, 6)


async def test_upsert_many_of_bare_pairs_leaves_existing_ones(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, _, _), (t0, _, _) = shelf
    async with db.transaction() as session:
        await Repository(BookTag, session).update_many([{"book_id": b0, "tag_id": t0, "weight": 8}])
        # Nothing but the key: link if missing, leave the existing link as it is.
        await Repository(BookTag, session).upsert_many([{"book_id": b0, "tag_id": t0}])
    assert (await links(db))[(b0, t0)] == 8


async def test_upsert_many_without_conflict_needs_the_key(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(InvalidDataError, match="primary key") as caught:
            await Repository(Book, session).upsert_many([{"id": 1, "title": "a"}, {"title": "b"}])
    assert getattr(caught.value, "row", None) == 1 and caught.value.column == "id"


async def test_create_many_of_a_duplicate_pair_changes_nothing(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, b1, _), (t0, _, _) = shelf
    async with db.transaction() as session:
        await Repository(BookTag, session).delete_many([(b1, t0)])
        with pytest.raises(DuplicateKeyError):
            await Repository(BookTag, session).create_many(
                [{"book_id": b1, "tag_id": t0}, {"book_id": b0, "tag_id": t0}]
            )
    assert (b1, t0) not in await links(db)


async def test_delete_many_expunges_the_deleted_links(
    db: Database, shelf: tuple[list[int], list[int]]
) -> None:
    (b0, _, _), (t0, t1, _) = shelf
    async with db.transaction() as session:
        gone = await session.get(BookTag, (b0, t0))
        kept = await session.get(BookTag, (b0, t1))
        await Repository(BookTag, session).delete_many([(b0, t0)])
        assert gone not in session and kept in session
