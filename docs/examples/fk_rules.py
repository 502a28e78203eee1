"""Choosing what deleting a parent does: `Field(foreign_key=..., ondelete=...)`; and a
link table whose primary key is two columns."""

import pytest
from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, SQLModel

from sqlmodel_async import Database, ForeignKeyError, Repository


class Shelf(SQLModel, registry=registry()):
    """The example's own tables (created and dropped by main)."""


class Author(Shelf, table=True):
    __tablename__ = "doc_author"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    # No passive_deletes needed: Repository.delete() leaves the decision to the database.
    books: list["Book"] = Relationship(back_populates="author")


class Book(Shelf, table=True):
    __tablename__ = "doc_book"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    # RESTRICT: an author who still has books cannot be deleted.
    author_id: int = Field(foreign_key="doc_author.id", ondelete="RESTRICT")
    author: Author | None = Relationship(back_populates="books")


class Tag(Shelf, table=True):
    __tablename__ = "doc_tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str


class BookTag(Shelf, table=True):
    """The link: its primary key is (book_id, tag_id); CASCADE from both sides."""

    __tablename__ = "doc_book_tag"

    book_id: int = Field(foreign_key="doc_book.id", ondelete="CASCADE", primary_key=True)
    tag_id: int = Field(foreign_key="doc_tag.id", ondelete="CASCADE", primary_key=True)
    note: str | None = None


async def main(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(Shelf.metadata.create_all)
    try:
        await shelf(db)
    finally:
        async with db.engine.begin() as connection:
            await connection.run_sync(Shelf.metadata.drop_all)


async def shelf(db: Database) -> None:
    async with db.transaction() as session:
        authors, books = Repository(Author, session), Repository(Book, session)
        author = await authors.create({"name": "Ursula"})
        book = await books.create({"title": "The Dispossessed", "author_id": author.id})
        tag = await Repository(Tag, session).create({"name": "utopia"})
        links = Repository(BookTag, session)
        await links.create({"book_id": book.id, "tag_id": tag.id})

        # RESTRICT: refused (409 over HTTP), nothing changed, the transaction goes on.
        with pytest.raises(ForeignKeyError):
            await authors.delete(author.id)

        # Composite keys: one tuple in the key's order, or a mapping by name.
        key = (book.id, tag.id)
        assert (await links.update(key, {"note": "classic"})).note == "classic"
        assert await links.get({"book_id": book.id, "tag_id": tag.id}) is not None
        assert await links.delete(key) is True

        # Delete the children first, then the parent goes.
        assert await books.delete_where(author_id=author.id) == 1
        assert await authors.delete(author.id) is True

