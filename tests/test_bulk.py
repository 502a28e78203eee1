"""Bulk writes on every backend: create_many, update_many, upsert_many,
delete_many, and the seed's bulk pitfalls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from sqlmodel_async import (
    Database,
    DuplicateKeyError,
    ForeignKeyError,
    InvalidDataError,
    NotNullViolation,
    Repository,
)
from sqlmodel_async import bulk as bulk_module

from .models import Badge, Hero, HeroCreate, Team
from .support.recorders import sent
from .support.seeds import all_heroes


def heroes(n: int, prefix: str = "h") -> Iterator[dict[str, Any]]:
    return ({"name": f"{prefix}{i}", "secret_name": f"s{i}", "age": i % 90} for i in range(n))


# --- create_many -------------------------------------------------------------------------


async def test_create_many_count_and_values(db: Database) -> None:
    created_at = datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    rows = ({**row, "created_at": created_at, "power_level": 70 + row["age"]}
            for row in heroes(2500))
    async with db.transaction() as session:
        count = await Repository(Hero, session).create_many(rows, returning=False)
    assert count == 2500
    stored = await all_heroes(db)
    assert len(stored) == 2500
    by_name = {hero.name: hero for hero in stored}
    sample = by_name["h1234"]
    age = 1234 % 90
    assert (sample.secret_name, sample.age, sample.power_level) == ("s1234", age, 70.0 + age)
    assert sample.created_at == created_at
    assert len({hero.id for hero in stored}) == 2500


async def test_create_many_returns_keys_in_input_order(db: Database) -> None:
    names = [f"n{(i * 7919) % 1000:04d}" for i in range(1000)]  # not in sorted order
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(
            [{"name": name, "secret_name": "x"} for name in names]
        )
    assert [hero.name for hero in created] == names
    stored = {hero.id: hero.name for hero in await all_heroes(db)}
    assert [stored[hero.id] for hero in created] == names  # each key belongs to its row


async def test_create_many_sets_keys_on_given_instances(db: Database) -> None:
    instances = [Hero(name=f"i{i}", secret_name="x", age=i) for i in range(5)]
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(instances)
    assert all(a is b for a, b in zip(created, instances, strict=True))
    assert all(hero.id is not None for hero in instances)
    stored = {hero.id: hero.name for hero in await all_heroes(db)}
    assert [stored[hero.id] for hero in instances] == [f"i{i}" for i in range(5)]


async def test_created_instances_can_be_merged_and_changed(db: Database) -> None:
    async with db.transaction() as session:
        [hero] = await Repository(Hero, session).create_many([{"name": "a", "secret_name": "b"}])
        assert hero.model_dump(exclude_unset=True)["name"] == "a"
        attached = await session.merge(hero)
        attached.age = 41
    stored = await all_heroes(db)
    assert [(h.id, h.name, h.age) for h in stored] == [(hero.id, "a", 41)]


async def test_create_many_applies_defaults_like_the_orm(db: Database) -> None:
    async with db.transaction() as session:
        badges = await Repository(Badge, session).create_many(
            [{"owner": "o", "code": f"c{i}"} for i in range(3)]
            + [{"owner": "o", "code": "given", "points": 3, "token": "mine"}]
        )
        heroes_made = await Repository(Hero, session).create_many(
            [HeroCreate(name="schema", secret_name="x"), {"name": "map", "secret_name": "y"}]
        )
    async with db.session() as session:
        stored = (await session.exec(select(Badge).order_by(Badge.id))).all()
    assert [(b.points, b.note) for b in stored] == [(10, None)] * 3 + [(3, None)]
    tokens = [b.token for b in stored]
    assert len(set(tokens)) == 4 and tokens[3] == "mine"  # the factory runs per row
    assert [b.token for b in badges] == tokens
    assert [h.power_level for h in heroes_made] == [50.0, 50.0]
    assert {h.power_level for h in await all_heroes(db)} == {50.0}


async def test_create_many_with_mixed_key_sets(db: Database) -> None:
    rows: list[Any] = [
        {"name": "a", "secret_name": "x"},
        {"name": "b", "secret_name": "x", "age": 30, "id": 900},
        Hero(name="c", secret_name="x", power_level=7),
        {"name": "d", "secret_name": "x", "team_id": None, "age": 4},
        {"name": "e", "secret_name": "x", "id": 901},
        {"name": "f", "secret_name": "x"},
    ]
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(rows)
    assert [h.name for h in created] == list("abcdef")
    assert created[1].id == 900 and created[4].id == 901
    stored = {h.id: h for h in await all_heroes(db)}
    assert [stored[h.id].name for h in created] == list("abcdef")
    assert (stored[900].age, stored[created[2].id].power_level) == (30, 7.0)
    assert stored[created[3].id].age == 4 and stored[created[0].id].age is None


async def test_create_many_refuses_bad_rows_before_writing(db: Database) -> None:
    bad_rows: list[list[Any]] = [
        [{"name": "a", "secret_name": "x"}, {"name": "b", "secret_name": "x", "nope": 1}],
        [{"name": "a", "secret_name": "x"}, {"name": "b"}],
        [{"name": "a", "secret_name": "x", "age": "not a number"}],
        [{"name": None, "secret_name": "x"}],
        ["just a string"],
    ]
    for rows in bad_rows:
        async with db.transaction() as session:
            with pytest.raises(InvalidDataError) as caught:
                await Repository(Hero, session).create_many(rows, returning=False)
        assert caught.value.detail
    assert await all_heroes(db) == []


async def test_create_many_coerces_like_validation(db: Database) -> None:
    async with db.transaction() as session:
        [hero] = await Repository(Hero, session).create_many(
            [{"name": "a", "secret_name": "x", "age": "42", "power_level": 3}]
        )
    assert (hero.age, hero.power_level) == (42, 3.0)
    assert [(h.age, h.power_level) for h in await all_heroes(db)] == [(42, 3.0)]


@pytest.mark.parametrize("returning", [False, True])
async def test_failing_chunk_rolls_back_the_whole_call(
    db: Database, monkeypatch: pytest.MonkeyPatch, returning: bool
) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "taken", "secret_name": "x"})
    monkeypatch.setattr(bulk_module, "CHUNK_ROWS", 100)
    rows = list(heroes(350))
    rows[250]["name"] = "taken"  # in the third chunk: chunks 1 and 2 are already sent
    with pytest.raises(DuplicateKeyError):
        async with db.transaction() as session:
            await Repository(Hero, session).create_many(rows, returning=returning)
    assert [h.name for h in await all_heroes(db)] == ["taken"]


async def test_empty_input_sends_no_statement(db: Database) -> None:
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        await session.connection()
        with sent(db) as statements:
            assert await repository.create_many([]) == []
            assert await repository.create_many(iter(()), returning=False) == 0
            assert await repository.update_many([]) == 0
            assert await repository.upsert_many([], conflict=["name"]) == 0
            assert await repository.delete_many([]) == 0
    assert statements == []


# --- update_many -------------------------------------------------------------------------


async def test_update_many_by_primary_key(db: Database) -> None:
    async with db.transaction() as session:
        made = await Repository(Hero, session).create_many(list(heroes(300)))
    ids = [hero.id for hero in made]
    updates: list[dict[str, Any]] = [
        {"id": ids[0], "age": None, "secret_name": "first"},  # NULL in the first row
        {"id": ids[1], "age": 42, "secret_name": "second"},
        {"id": ids[2], "power_level": 99.5},  # another key set
        {"id": 10**9, "age": 1},  # no such row
        {"id": ids[3], "name": "renamed"},
        {"id": ids[3], "name": "renamed again"},  # the last row for a key wins
    ] + [{"id": key, "age": 7} for key in ids[10:260]]
    async with db.transaction() as session:
        updated = await Repository(Hero, session).update_many(updates)
    assert updated == 4 + 250
    stored = {h.id: h for h in await all_heroes(db)}
    assert (stored[ids[0]].age, stored[ids[0]].secret_name) == (None, "first")
    assert (stored[ids[1]].age, stored[ids[1]].secret_name) == (42, "second")
    assert (stored[ids[2]].power_level, stored[ids[2]].age) == (99.5, 2)
    assert stored[ids[3]].name == "renamed again"
    assert {stored[key].age for key in ids[10:260]} == {7}
    assert stored[ids[5]].age == 5 and stored[ids[299]].age == 299 % 90


async def test_update_many_refreshes_objects_in_the_session(db: Database) -> None:
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        hero = await repository.create({"name": "a", "secret_name": "x", "age": 1})
        await repository.update_many([{"id": hero.id, "age": 2}])
        assert (await repository.get_one(hero.id)).age == 2


async def test_update_many_refuses_rows_without_a_key_or_with_unknown_fields(
    db: Database,
) -> None:
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        hero = await repository.create({"name": "a", "secret_name": "x", "age": 1})
        with pytest.raises(InvalidDataError):
            await repository.update_many([{"age": 3}])
        with pytest.raises(InvalidDataError):
            await repository.update_many([{"id": hero.id, "age": 3, "evil; --": 1}])
        with pytest.raises(InvalidDataError):
            await repository.update_many([{"id": hero.id, "age": "three"}])
    assert [h.age for h in await all_heroes(db)] == [1]


async def test_update_many_refusal_is_translated(db: Database) -> None:
    async with db.transaction() as session:
        made = await Repository(Hero, session).create_many(list(heroes(3)))
    with pytest.raises(DuplicateKeyError):
        async with db.transaction() as session:
            await Repository(Hero, session).update_many(
                [{"id": made[0].id, "age": 50}, {"id": made[1].id, "name": "h2"}]
            )
    assert [h.age for h in await all_heroes(db)] == [0, 1, 2]


# --- upsert_many -------------------------------------------------------------------------


async def test_upsert_many_on_a_unique_key_half_new_half_existing(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create_many(list(heroes(100)), returning=False)
    rows = [{"name": f"h{i}", "secret_name": f"new{i}"} for i in range(50, 150)]
    async with db.transaction() as session:
        written = await Repository(Hero, session).upsert_many(rows, conflict=["name"])
    assert written == 100
    stored = {h.name: h for h in await all_heroes(db)}
    assert len(stored) == 150
    assert (stored["h10"].secret_name, stored["h10"].age) == ("s10", 10)  # untouched
    # Existing rows change only the fields given: age stays.
    assert (stored["h60"].secret_name, stored["h60"].age) == ("new60", 60)
    assert (stored["h120"].secret_name, stored["h120"].age) == ("new120", None)


async def test_upsert_many_on_the_primary_key(db: Database) -> None:
    async with db.transaction() as session:
        made = await Repository(Hero, session).create_many(list(heroes(3)))
    rows = [
        {"id": made[0].id, "name": "h0", "secret_name": "changed"},
        {"id": 5000, "name": "fresh", "secret_name": "new"},
    ]
    async with db.transaction() as session:
        assert await Repository(Hero, session).upsert_many(rows, conflict=["id"]) == 2
    stored = {h.id: h for h in await all_heroes(db)}
    assert stored[made[0].id].secret_name == "changed"
    assert stored[5000].name == "fresh" and len(stored) == 4


async def test_upsert_many_in_batch_duplicates_last_wins(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create({"name": "old", "secret_name": "0"})
    rows = [
        {"name": "old", "secret_name": "1"},
        {"name": "new", "secret_name": "1"},
        {"name": "old", "secret_name": "2"},
        {"name": "new", "secret_name": "2", "age": 5},
        {"name": "old", "secret_name": "3"},
    ]
    async with db.transaction() as session:
        assert await Repository(Hero, session).upsert_many(rows, conflict=["name"]) == 2
    stored = {h.name: (h.secret_name, h.age) for h in await all_heroes(db)}
    assert stored == {"old": ("3", None), "new": ("2", 5)}


async def test_upsert_many_on_a_composite_unique_key_with_chosen_columns(
    db: Database,
) -> None:
    async with db.transaction() as session:
        await Repository(Badge, session).create_many(
            [{"owner": "o", "code": "a", "points": 1, "note": "keep"}]
        )
    rows = [
        {"owner": "o", "code": "a", "points": 5, "note": "ignored"},
        {"owner": "o", "code": "b", "points": 6, "note": "inserted"},
    ]
    async with db.transaction() as session:
        repository = Repository(Badge, session)
        await repository.upsert_many(rows, conflict=["owner", Badge.code], update=["points"])
        await repository.upsert_many(
            [{"owner": "o", "code": "b", "points": 100}], conflict=["owner", "code"], update=[]
        )
    async with db.session() as session:
        stored = (await session.exec(select(Badge).order_by(Badge.code))).all()
    assert [(b.code, b.points, b.note) for b in stored] == [("a", 5, "keep"), ("b", 6, "inserted")]


async def test_upsert_many_refuses_a_conflict_target_that_is_not_unique(db: Database) -> None:
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        await session.connection()
        with sent(db) as statements:
            for conflict, update in [
                (["age"], None), (["name", "age"], None), (["nope"], None), (["name"], ["x; --"])
            ]:
                with pytest.raises(InvalidDataError):
                    await repository.upsert_many(
                        [{"name": "a", "secret_name": "b"}], conflict=conflict, update=update
                    )
            with pytest.raises(InvalidDataError):  # keys never become SQL text
                await repository.upsert_many(
                    [{"name": "a", "secret_name": "b", "secret_name = 'x'; --": 1}],
                    conflict=["name"],
                )
    assert statements == []
    assert await all_heroes(db) == []


# --- delete_many -------------------------------------------------------------------------


async def test_delete_many_100k_ids(db: Database) -> None:
    async with db.transaction() as session:
        count = await Repository(Hero, session).create_many(heroes(100_000), returning=False)
    assert count == 100_000
    async with db.session() as session:
        ids = list((await session.exec(select(Hero.id))).all())
    keep = ids[:5]
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        deleted = await repository.delete_many([*ids[5:], 10**9])
    assert deleted == 100_000 - 5
    assert [h.id for h in await all_heroes(db)] == sorted(keep)


async def test_delete_many_removes_objects_from_the_session(db: Database) -> None:
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        hero = await repository.create({"name": "a", "secret_name": "x"})
        assert await repository.delete_many([hero.id, hero.id]) == 1
        assert await repository.get(hero.id) is None


# --- the seed's bulk code ("Async Batch Operations") -------------------------------------


async def test_seed_unchunked_in_list_fails_past_the_driver_limit(db: Database) -> None:
    """The seed's `delete(Hero).where(Hero.id.in_(hero_ids))` with 100k ids; asyncpg
    caps one statement at 32767 parameters. delete_many is fine on every backend."""
    async with db.transaction() as session:
        made = await Repository(Hero, session).create_many(list(heroes(3)))
    ids = [hero.id for hero in made] + list(range(10**8, 10**8 + 100_000))
    if db.backend.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="32767"):
            async with db.session() as session:
                await session.exec(sa.delete(Hero).where(Hero.id.in_(ids)))  # type: ignore
    async with db.transaction() as session:
        assert await Repository(Hero, session).delete_many(ids) == 3
    assert await all_heroes(db) == []


async def seed_bulk_upsert_heroes_async(session: Any, heroes_data: list[dict[str, Any]]) -> int:
    """The seed's bulk upsert, verbatim apart from the imports."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    try:
        stmt = pg_insert(Hero).values(heroes_data)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={k: sa.text(f"excluded.{k}") for k in heroes_data[0] if k != "name"},
        )
        await session.exec(stmt)
        await session.commit()
        return len(heroes_data)
    except Exception:
        upserted_count = 0
        for hero_data in heroes_data:
            existing = await session.exec(  # type: ignore[attr-defined]
                select(Hero).where(Hero.name == hero_data["name"])
            ).first()
            if existing:
                for key, value in hero_data.items():
                    setattr(existing, key, value)
                session.add(existing)
            else:
                session.add(Hero(**hero_data))
            upserted_count += 1
        await session.commit()
        return upserted_count


# The seed forgets an await: the coroutine it drops is part of the bug shown here.
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_seed_upsert_swallows_the_database_error(db: Database) -> None:
    """The seed catches every exception and falls back to per-row code, so the
    caller never sees why the upsert failed (here: a required value is missing, or the
    same name twice in one batch); upsert_many raises the database's refusal or handles
    the duplicate, on every backend."""
    missing_value = [{"name": "a", "secret_name": None}]
    twice = [{"name": "a", "secret_name": "1"}, {"name": "a", "secret_name": "2"}]
    failing = [missing_value]
    if db.backend.name != "sqlite":
        # PostgreSQL: "ON CONFLICT DO UPDATE command cannot affect row a second time";
        # MariaDB: the PostgreSQL statement does not compile. (SQLite happens to run it.)
        failing.append(twice)
    for rows in failing:
        async with db.session() as session:
            with pytest.raises(AttributeError, match="coroutine"):  # not the real cause
                await seed_bulk_upsert_heroes_async(session, rows)
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        assert await repository.upsert_many(twice, conflict=["name"]) == 1
        with pytest.raises((NotNullViolation, InvalidDataError)):
            await repository.upsert_many(missing_value, conflict=["name"])


async def test_upsert_many_raises_database_refusals(db: Database) -> None:
    async with db.transaction() as session:
        team = await Repository(Team, session).create({"name": "t", "headquarters": "hq"})
    rows = [
        {"name": "x", "secret_name": "a", "team_id": team.id},
        {"name": "y", "secret_name": "b", "team_id": team.id + 1000},  # no such team
    ]
    with pytest.raises(ForeignKeyError):
        async with db.transaction() as session:
            await Repository(Hero, session).upsert_many(rows, conflict=["name"])
    assert await all_heroes(db) == []
