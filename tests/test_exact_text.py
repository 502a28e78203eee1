"""`ExactText`: unique text that compares exactly on every backend ("B" and "B " are two
values, so are "b" and "B"); `create_all` makes MariaDB/MySQL tables utf8mb4 whatever the
database's default; bound parameters stay out of error messages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, select

from sqlmodel_async import Database, DuplicateKeyError, ExactText, Repository, exact_text

from .support.databases import database_fixture


class Base(SQLModel, registry=registry()):
    pass


class Tag(Base, table=True):
    __tablename__ = "t_exact_tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=ExactText(40), unique=True)
    label: str = Field(default="", sa_type=exact_text(40))
    note: str = ""


tags = database_fixture(Base.metadata)


async def test_trailing_spaces_and_case_make_other_values(tags: Database) -> None:
    names = ["B", "B ", "b", "B  ", "é", "e"]
    async with tags.transaction() as session:
        await Repository(Tag, session).create_many([{"name": name} for name in names])
    async with tags.session() as session:
        stored = (await session.exec(select(Tag.name).where(Tag.name == "B"))).all()
        assert stored == ["B"]
        assert await Repository(Tag, session).count() == len(names)
    with pytest.raises(DuplicateKeyError):
        async with tags.transaction() as session:
            await Repository(Tag, session).create({"name": "B "})


async def test_upsert_on_an_exact_name_keeps_the_other(tags: Database) -> None:
    async with tags.transaction() as session:
        await Repository(Tag, session).create({"name": "Victim", "note": "mine"})
    async with tags.transaction() as session:
        await Repository(Tag, session).upsert_many(
            [{"name": "Victim ", "note": "attacker"}], conflict=["name"]
        )
    async with tags.session() as session:
        notes = dict((await session.exec(select(Tag.name, Tag.note))).all())
    assert notes == {"Victim": "mine", "Victim ": "attacker"}


@pytest.fixture
async def narrow_default(tags: Database) -> AsyncIterator[Database]:
    """The database's default character set utf8mb3 for the test (MariaDB/MySQL)."""
    if tags.backend.name != "mysql":
        pytest.skip("character sets: MariaDB/MySQL")
    async with tags.engine.begin() as connection:
        before = (await connection.exec_driver_sql(
            "SELECT @@character_set_database, @@collation_database"
        )).one()
        await connection.exec_driver_sql("ALTER DATABASE CHARACTER SET utf8mb3")
    try:
        yield tags
    finally:
        async with tags.engine.begin() as connection:
            await connection.exec_driver_sql(
                f"ALTER DATABASE CHARACTER SET {before[0]} COLLATE {before[1]}"
            )


async def test_create_all_makes_utf8mb4_tables(narrow_default: Database) -> None:
    metadata = sa.MetaData()
    table = sa.Table(
        "t_emoji", metadata,
        sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.String(40)),
    )
    database = Database(narrow_default.engine.url, metadata=metadata)
    try:
        await database.create_all()
        async with database.engine.begin() as connection:
            await connection.execute(table.insert().values(text="hero 🦸"))
            stored = (await connection.execute(sa.select(table.c.text))).scalar_one()
        assert stored == "hero 🦸"
    finally:
        await database.drop_all()
        await database.dispose()


async def test_parameters_stay_out_of_error_messages(tags: Database) -> None:
    assert tags.engine.sync_engine.hide_parameters
    async with tags.transaction() as session:
        await Repository(Tag, session).create({"name": "taken"})
    with pytest.raises(sa.exc.IntegrityError) as raised:
        async with tags.engine.begin() as connection:
            await connection.execute(
                sa.insert(Tag.__table__).values(name="taken", note="the-secret-value")  # type: ignore[attr-defined]
            )
    assert "the-secret-value" not in str(raised.value)
    assert "hidden" in str(raised.value)
