"""Models for the single-statement write tests, in their own registry and tables: parents
and children under each ON DELETE rule with relationships that have no `passive_deletes`
(as users write them), a versioned row with a server default, and a link table whose
primary key is two columns."""

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import field_validator
from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, SQLModel


class WBase(SQLModel, registry=registry()):
    pass


metadata = WBase.metadata


class Author(WBase, table=True):
    __tablename__ = "w_author"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    books: list["Book"] = Relationship(back_populates="author")


class Book(WBase, table=True):
    """RESTRICT: an author with books cannot be deleted."""

    __tablename__ = "w_book"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int = Field(foreign_key="w_author.id", ondelete="RESTRICT", index=True)
    author: Author | None = Relationship(back_populates="books")


class Publisher(WBase, table=True):
    __tablename__ = "w_publisher"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    editions: list["Edition"] = Relationship(back_populates="publisher")


class Edition(WBase, table=True):
    """CASCADE: an edition goes with its publisher."""

    __tablename__ = "w_edition"

    id: int | None = Field(default=None, primary_key=True)
    year: int
    publisher_id: int = Field(foreign_key="w_publisher.id", ondelete="CASCADE", index=True)
    publisher: Publisher | None = Relationship(back_populates="editions")


class Club(WBase, table=True):
    __tablename__ = "w_club"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    fans: list["Fan"] = Relationship(back_populates="club")


class Fan(WBase, table=True):
    """SET NULL: a fan stays, clubless, when the club goes."""

    __tablename__ = "w_fan"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    age: int | None = None
    club_id: int | None = Field(
        default=None, foreign_key="w_club.id", ondelete="SET NULL", index=True
    )
    club: Club | None = Relationship(back_populates="fans")


_counter_version = sa.Column("version", sa.Integer, nullable=False, server_default="1")


class Counter(WBase, table=True):
    """A version column, and a value the database fills in (server default)."""

    __tablename__ = "w_counter"
    __mapper_args__ = {"version_id_col": _counter_version}

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(unique=True)
    hits: int = 0
    kind: str | None = Field(
        default=None, sa_column_kwargs={"server_default": "plain", "nullable": False}
    )
    version: int = Field(default=1, sa_column=_counter_version)


class Tag(WBase, table=True):
    __tablename__ = "w_tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str


class BookTag(WBase, table=True):
    """A link table whose primary key is the pair."""

    __tablename__ = "w_book_tag"

    book_id: int = Field(foreign_key="w_book.id", ondelete="CASCADE", primary_key=True)
    tag_id: int = Field(foreign_key="w_tag.id", ondelete="CASCADE", primary_key=True)
    note: str | None = None


class Mood(enum.Enum):
    calm = "calm"
    loud = "loud"


class Reading(WBase, table=True):
    """Columns whose values SQLAlchemy converts: exact decimals, JSON, an enum, a float
    and a timestamp."""

    __tablename__ = "w_reading"

    id: int | None = Field(default=None, primary_key=True)
    amount: Decimal = Field(sa_type=sa.Numeric(12, 4))
    ratio: float = 0.5
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    mood: Mood = Mood.calm
    taken_at: datetime = Field(
        default_factory=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        sa_type=sa.DateTime(timezone=True),
    )


class Badge(WBase, table=True):
    """A model with a validator of its own: a write validates through the model."""

    __tablename__ = "w_badge"

    id: int | None = Field(default=None, primary_key=True)
    code: str

    @field_validator("code")
    @classmethod
    def upper(cls, value: str) -> str:
        return value.strip().upper()
