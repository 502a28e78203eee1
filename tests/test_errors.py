"""Database refusals arrive as typed errors naming the constraint or column, on every
backend, and the session stays usable afterwards."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sqlmodel_async import (
    CheckViolation,
    ConflictError,
    Database,
    DatabaseError,
    DuplicateKeyError,
    ForeignKeyError,
    NotNullViolation,
    ReadOnlyError,
    Repository,
    translate,
)

from .models import Gauge, Guild, Hero, Member, Team, TransferLog


async def test_duplicate_key(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "Dup", "secret_name": "a"})
        with pytest.raises(DuplicateKeyError) as caught:
            await heroes.create({"name": "Dup", "secret_name": "b"})
        assert isinstance(caught.value, ConflictError)
        assert caught.value.column == "name"
        assert "Dup" not in caught.value.detail  # the client-safe text carries no values
        # the session is still usable, and the earlier work in it survives
        await heroes.create({"name": "Other", "secret_name": "c"})
    async with db.session() as session:
        assert [h.name for h in await Repository(Hero, session).list()] == ["Dup", "Other"]


async def test_duplicate_primary_key(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create(Hero(id=7, name="A", secret_name="a"))
    async with db.transaction() as session:
        with pytest.raises(DuplicateKeyError):
            await Repository(Hero, session).create(Hero(id=7, name="B", secret_name="b"))


async def test_missing_foreign_key_names_the_column(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(ForeignKeyError) as caught:
            await heroes.create({"name": "A", "secret_name": "a", "team_id": 424242})
        assert caught.value.missing_reference is True
        assert caught.value.column == "team_id"
        await heroes.create({"name": "B", "secret_name": "b"})
    async with db.session() as session:
        assert [h.name for h in await Repository(Hero, session).list()] == ["B"]


async def test_missing_foreign_key_on_update(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.transaction() as session:
        with pytest.raises(ForeignKeyError) as caught:
            await Repository(Hero, session).update(hero.id, {"team_id": 424242})
        assert (caught.value.missing_reference, caught.value.column) == (True, "team_id")
    async with db.session() as session:
        assert (await Repository(Hero, session).get_one(hero.id)).team_id is None


async def test_deleting_a_referenced_parent(db: Database) -> None:
    async with db.transaction() as session:
        guild = await Repository(Guild, session).create({"name": "G"})
        await Repository(Member, session).create({"name": "M", "guild_id": guild.id})
    async with db.transaction() as session:
        with pytest.raises(ForeignKeyError) as caught:
            await Repository(Guild, session).delete(guild.id)
        assert caught.value.missing_reference is False
        # still usable
        await Repository(Guild, session).create({"name": "H"})
    async with db.session() as session:
        assert await Repository(Guild, session).count() == 2
        assert await Repository(Member, session).count() == 1


async def test_deleting_a_parent_still_referenced_without_on_delete(db: Database) -> None:
    # NO ACTION (the default): SQLite reports it like a missing parent; the library tells
    # the two apart.
    async with db.transaction() as session:
        team = await Repository(Team, session).create({"name": "T", "headquarters": "h"})
        hero = await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
        session.add(TransferLog(hero_id=hero.id, to_team_id=team.id))  # type: ignore[arg-type]
    async with db.transaction() as session:
        with pytest.raises(ForeignKeyError) as caught:
            await Repository(Team, session).delete(team.id)
        assert caught.value.missing_reference is False
    async with db.session() as session:
        assert await Repository(Team, session).count() == 1


async def test_not_null(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(NotNullViolation) as caught:
            await heroes.create(Hero(name="A", secret_name=None))  # type: ignore[arg-type]
        assert caught.value.column == "secret_name"
        await heroes.create({"name": "B", "secret_name": "b"})
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 1


async def test_check_constraint(db: Database) -> None:
    async with db.transaction() as session:
        gauges = Repository(Gauge, session)
        with pytest.raises(CheckViolation) as caught:
            await gauges.create({"level": -1})
        assert caught.value.constraint == "ck_gauge_level"
        await gauges.create({"level": 1})
    async with db.session() as session:
        assert [g.level for g in await Repository(Gauge, session).list()] == [1]


async def test_read_only_error_is_a_database_error(db: Database) -> None:
    with pytest.raises(ReadOnlyError) as caught:
        async with db.read_only() as session:
            await Repository(Team, session).create({"name": "T", "headquarters": "h"})
    assert isinstance(caught.value, DatabaseError)
    assert "read-only" in caught.value.detail


async def test_raw_statements_are_translated_by_the_scopes(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    with pytest.raises(DuplicateKeyError):
        async with db.transaction() as session:
            await session.exec(sa.insert(Hero).values(name="A", secret_name="b"))  # type: ignore[call-overload]
    with pytest.raises(ForeignKeyError):
        async with db.session() as session:
            await session.exec(  # type: ignore[call-overload]
                sa.insert(Hero).values(name="B", secret_name="b", team_id=999)
            )


async def test_translate_leaves_other_errors_alone(db: Database) -> None:
    error = ValueError("not ours")
    assert translate(error) is error
    async with db.session() as session:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            await session.exec(sa.text("SELECT * FROM no_such_table_b"))  # type: ignore[call-overload]
    assert translate(caught.value, db.backend) is caught.value


async def test_objects_stay_readable_after_a_refused_update(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        await heroes.create({"name": "Taken", "secret_name": "t"})
        hero = await heroes.create({"name": "Mine", "secret_name": "m"})
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        hero = await heroes.get_one(hero.id)
        with pytest.raises(DuplicateKeyError):
            await heroes.update(hero.id, {"name": "Taken"})
        # readable without a hidden query (no MissingGreenlet), and back to the stored value
        assert (hero.name, hero.secret_name) == ("Mine", "m")
        await heroes.update(hero.id, {"secret_name": "n"})
    async with db.session() as session:
        stored = await Repository(Hero, session).get_one(hero.id)
        assert (stored.name, stored.secret_name) == ("Mine", "n")
