"""Repository: reads, single-row writes, get_many in one round trip."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from sqlmodel_async import Database, InvalidDataError, NotFoundError, Repository

from .models import Hero, HeroCreate, HeroUpdate, Team
from .support.recorders import queries


async def add_heroes(db: Database, *ids: int) -> None:
    """Heroes with explicit keys, inserted in the given order."""
    async with db.transaction() as session:
        for key in ids:
            session.add(Hero(id=key, name=f"hero{key}", secret_name=f"s{key}", age=key))
            await session.flush()


# --- reads ----------------------------------------------------------------------------------


async def test_get_get_one_first_count_exists(db: Database) -> None:
    await add_heroes(db, 1, 2, 3)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        assert (await heroes.get(2)).name == "hero2"  # type: ignore[union-attr]
        assert await heroes.get(99) is None
        assert (await heroes.get_one(3)).name == "hero3"
        with pytest.raises(NotFoundError) as caught:
            await heroes.get_one(99)
        assert caught.value.key == 99 and caught.value.detail == "Hero not found"
        assert (await heroes.first(name="hero2")).id == 2  # type: ignore[union-attr]
        assert await heroes.first(name="nobody") is None
        assert (await heroes.first(Hero.age > 1)).id == 2  # type: ignore[union-attr, operator]
        assert await heroes.count() == 3
        assert await heroes.count(Hero.age >= 2) == 2  # type: ignore[operator]
        assert await heroes.count(team_id=None) == 3
        assert await heroes.exists(name="hero1")
        assert not await heroes.exists(name="nobody")


async def test_list_orders_by_primary_key_by_default(db: Database) -> None:
    await add_heroes(db, 3, 1, 2)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        with queries(db) as sent:
            listed = await heroes.list()
        assert [h.id for h in listed] == [1, 2, 3]
        assert "ORDER BY" in sent[0]
        assert [h.id for h in await heroes.list(offset=1, limit=1)] == [2]
        by_name_desc = await heroes.list(order_by=[Hero.name.desc()])  # type: ignore[attr-defined]
        assert [h.id for h in by_name_desc] == [3, 2, 1]
        assert [h.id for h in await heroes.list(Hero.age < 3)] == [1, 2]  # type: ignore[operator]


@pytest.mark.parametrize(("kwargs"), [{"offset": -1}, {"limit": -1}])
async def test_list_refuses_negative_offset_and_limit(db: Database, kwargs: dict[str, int]) -> None:
    async with db.session() as session:
        with pytest.raises(ValueError):
            await Repository(Hero, session).list(**kwargs)


async def test_unknown_filter_column_is_refused(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(TypeError, match="no column 'nope'"):
            await Repository(Hero, session).first(nope=1)


# --- get_many -------------------------------------------------------------------------------


async def test_get_many_one_round_trip_in_input_order(db: Database) -> None:
    await add_heroes(db, 1, 2, 3, 4, 5)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        with queries(db) as sent:
            found = await heroes.get_many([4, 1, 5, 1, 3])
        assert [h.id for h in found] == [4, 1, 5, 1, 3]
        assert len(sent) == 1


async def test_get_many_reports_or_skips_missing(db: Database) -> None:
    await add_heroes(db, 1, 2)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(NotFoundError) as caught:
            await heroes.get_many([2, 7, 1, 9])
        assert caught.value.missing == [7, 9]
        skipped = await heroes.get_many([2, 7, 1, 9], missing="skip")
        assert [h.id for h in skipped] == [2, 1]
        assert await heroes.get_many([]) == []
        with pytest.raises(ValueError):
            await heroes.get_many([1], missing="ignore")


async def test_get_many_100k_keys_within_the_parameter_limit(db: Database) -> None:
    await add_heroes(db, 1, 2, 3)
    keys = [*range(100_000, 0, -1)]
    async with db.session() as session:
        with queries(db) as sent:
            found = await Repository(Hero, session).get_many(keys, missing="skip")
    assert [h.id for h in found] == [3, 2, 1]
    if db.backend.has_array_any:
        assert len(sent) == 1  # PostgreSQL: one array parameter for every key
    else:
        chunk = db.backend.max_params - 10
        assert len(sent) == math.ceil(len(keys) / chunk)
    assert db.backend.max_params <= {"postgresql": 32767, "mysql": 65535}.get(
        db.backend.name, db.backend.max_params
    )


def test_sqlite_parameter_limit_is_read_at_run_time() -> None:
    import sqlite3

    connection = sqlite3.connect(":memory:")
    limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.close()
    assert Database("sqlite://").backend.max_params == limit


# --- writes ---------------------------------------------------------------------------------


async def test_create_from_schema_mapping_and_instance(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        a = await heroes.create(HeroCreate(name="A", secret_name="a", age=3))
        b = await heroes.create({"name": "B", "secret_name": "b"})
        c = await heroes.create(Hero(name="C", secret_name="c"))
        assert None not in (a.id, b.id, c.id)
        assert b.power_level == 50.0
    async with db.session() as session:
        assert [h.name for h in await Repository(Hero, session).list()] == ["A", "B", "C"]


async def test_create_validates_mappings(db: Database) -> None:
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(ValidationError):
            await heroes.create({"name": "A"})  # secret_name missing
        with pytest.raises(InvalidDataError, match="bogus"):
            await heroes.create({"name": "A", "secret_name": "a", "bogus": 1})
        with pytest.raises(ValidationError):
            await heroes.create({"name": "A", "secret_name": "a", "age": "old"})
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0


async def test_partial_update_keeps_unset_and_nulls_none(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create(
            {"name": "A", "secret_name": "a", "age": 30, "power_level": 70.0}
        )
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        updated = await heroes.update(hero.id, HeroUpdate(power_level=80.0))
        assert (updated.age, updated.power_level, updated.name) == (30, 80.0, "A")
        updated = await heroes.update(hero.id, HeroUpdate(age=None))
        assert (updated.age, updated.power_level) == (None, 80.0)
        updated = await heroes.update(hero.id, {"secret_name": "z", "age": "41"})
        assert (updated.secret_name, updated.age) == ("z", 41)  # coerced, as validated
    async with db.session() as session:
        stored = await Repository(Hero, session).get_one(hero.id)
        assert (stored.name, stored.secret_name, stored.age, stored.power_level) == (
            "A",
            "z",
            41,
            80.0,
        )


async def test_update_cannot_change_the_primary_key(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(InvalidDataError, match="primary key"):
            await heroes.update(hero.id, {"id": hero.id + 100, "name": "Hacked"})  # type: ignore[operator]
        # the same key is harmless
        assert (await heroes.update(hero.id, {"id": hero.id, "age": 5})).age == 5
    async with db.session() as session:
        heroes = Repository(Hero, session)
        assert [(h.id, h.name) for h in await heroes.list()] == [(hero.id, "A")]


async def test_update_refuses_unknown_fields_and_invalid_values(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(InvalidDataError, match="bogus"):
            await heroes.update(hero.id, {"bogus": 1})
        with pytest.raises(ValidationError):
            await heroes.update(hero.id, {"age": "old"})
        with pytest.raises(NotFoundError):
            await heroes.update(12345, {"age": 1})
    async with db.session() as session:
        stored = await Repository(Hero, session).get_one(hero.id)
        assert stored.age is None


async def test_delete_returns_whether_a_row_went(db: Database) -> None:
    async with db.transaction() as session:
        hero = await Repository(Hero, session).create({"name": "A", "secret_name": "a"})
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        assert await heroes.delete(hero.id) is True
        assert await heroes.delete(hero.id) is False
    async with db.session() as session:
        assert await Repository(Hero, session).count() == 0


async def test_deleting_a_team_sets_its_heroes_team_null(db: Database) -> None:
    async with db.transaction() as session:
        team = await Repository(Team, session).create({"name": "T", "headquarters": "h"})
        hero = {"name": "A", "secret_name": "a", "team_id": team.id}
        await Repository(Hero, session).create(hero)
    async with db.transaction() as session:
        assert await Repository(Team, session).delete(team.id)
    async with db.session() as session:
        assert (await Repository(Hero, session).first(name="A")).team_id is None  # type: ignore[union-attr]


async def test_get_with_lock_reads_fresh_and_locks_the_row(db: Database) -> None:
    await add_heroes(db, 1)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        stale = await heroes.get_one(1)
        await session.commit()  # the object stays in the session's identity map
        async with db.transaction() as other:  # a concurrent writer commits a change
            (await Repository(Hero, other).get_one(1)).age = 99
        assert (await heroes.get_one(1)).age == 1  # a plain get answers from the map
        with queries(db) as sent:
            locked = await heroes.get_one(1, lock=True)
        assert locked is stale and locked.age == 99  # refreshed in place
        if db.backend.name != "sqlite":  # SQLite has no row locks (whole-database writes)
            assert sent and "FOR UPDATE" in sent[-1]
