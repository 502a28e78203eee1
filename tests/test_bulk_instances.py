"""The instances create_many(mappings, returning=True) builds (from checked columns or row
dicts, with no validation per instance) are the ones the ORM's recipe for a loaded row
gives: same fields in the same order, same values, same pydantic and SQLAlchemy state.
On every backend."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel, select

from sqlmodel_async import Database, Repository

from .models import Account, Badge, Hero, HeroCreate, Measurement, MeasurementKind
from .support.seeds import all_heroes

_STATE = "_sa_instance_state"


def old_way(instance: SQLModel) -> SQLModel:
    """An instance of the same model holding the same values, built as create_many built
    them before (ClassManager.new_instance, then the values into __dict__)."""
    values = {key: value for key, value in instance.__dict__.items() if key != _STATE}
    reference: SQLModel = sa.inspect(type(instance)).class_manager.new_instance()
    reference.__dict__.update(values)
    object.__setattr__(reference, "__pydantic_fields_set__", set(values))
    return reference


def state_of(instance: SQLModel) -> dict[str, Any]:
    state = sa.inspect(instance)
    return {
        "flags": (state.transient, state.pending, state.persistent, state.detached,
                  state.deleted, state.has_identity, state.modified, state.expired),
        "key": state.key, "session_id": state.session_id, "insert_order": state.insert_order,
        "committed": dict(state.committed_state), "expired": set(state.expired_attributes),
        "strong": state._strong_obj, "obj": state.obj() is instance, "type": type(state),
        "class": state.class_, "manager": state.manager, "own": sorted(state.__dict__),
        "in_dict": instance.__dict__[_STATE] is state, "first": next(iter(instance.__dict__)),
    }


def snapshot(instance: SQLModel) -> dict[str, Any]:
    return {
        "type": type(instance),
        "items": [(k, type(v), v) for k, v in instance.__dict__.items() if k != _STATE],
        "fields_set": set(instance.__pydantic_fields_set__),
        "extra": instance.__pydantic_extra__,
        "private": instance.__pydantic_private__,
        "dump": list(instance.model_dump().items()),
        "unset": list(instance.model_dump(exclude_unset=True).items()),
        "json": instance.model_dump_json(),
        "state": state_of(instance),
    }


def assert_like_old_way(created: list[Any]) -> None:
    for instance in created:
        assert snapshot(instance) == snapshot(old_way(instance))


async def test_instances_from_uniform_dicts_match_the_old_way(db: Database) -> None:
    rows = [{"name": f"u{i}", "secret_name": "x", "age": str(i), "power_level": i}
            for i in range(40)]
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(rows)
        assert not any(instance in session for instance in created)
        assert_like_old_way(created)
    assert_like_old_way(created)  # the commit leaves them alone: not in the session
    # insert_row's order (defaults first, then the given fields): model_dump's order.
    assert list(created[0].model_dump()) == [
        "id", "age", "power_level", "team_id", "created_at", "name", "secret_name"
    ]
    assert [(h.name, h.age, h.power_level, h.team_id, h.created_at) for h in created[:2]] == [
        ("u0", 0, 0.0, None, None), ("u1", 1, 1.0, None, None)
    ]
    assert all(sa.inspect(h).transient for h in created)
    stored = {h.id: h for h in await all_heroes(db)}
    assert [stored[h.id].model_dump() == h.model_dump() for h in created] == [True] * 40


async def test_column_path_and_row_path_build_the_same_instance(db: Database) -> None:
    at = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)

    def rows(tag: str) -> Iterator[dict[str, Any]]:
        yield {"name": f"{tag}1", "secret_name": "x", "age": "7", "created_at": at}
        yield {"name": f"{tag}2", "secret_name": "y", "age": None, "created_at": at}

    async with db.transaction() as session:
        repository = Repository(Hero, session)
        uniform = await repository.create_many(rows("c"))  # checked columns
        # Another shape in the chunk sends every row down the row-by-row path.
        mixed = await repository.create_many([*rows("r"), HeroCreate(name="s", secret_name="z")])
    assert_like_old_way([*uniform, *mixed])
    for column_built, row_built in zip(uniform, mixed[:2], strict=True):
        a, b = snapshot(column_built), snapshot(row_built)
        for built in (a, b):
            built["items"] = [item for item in built["items"] if item[0] not in ("id", "name")]
            del built["dump"], built["unset"], built["json"]
        assert a == b
    assert mixed[2].power_level == 50.0 and mixed[2].id is not None


async def test_instances_of_other_models_match_the_old_way(db: Database) -> None:
    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with db.transaction() as session:
        badges = await Repository(Badge, session).create_many(
            [{"owner": "o", "code": f"c{i}"} for i in range(5)]
        )
        accounts = await Repository(Account, session).create_many(
            [{"owner": "a", "note": None}, {"owner": "b", "note": None}]
        )
        measured = await Repository(Measurement, session).create_many([
            {"taken_at": at, "amount": "1.50", "kind": "manual"},
            {"taken_at": "2024-01-02T03:04:05Z", "amount": 2, "kind": MeasurementKind.SENSOR},
        ])
    assert_like_old_way([*badges, *accounts, *measured])
    assert [(b.points, b.note) for b in badges] == [(10, None)] * 5
    assert [(a.balance, a.version) for a in accounts] == [(0, 1), (0, 1)]
    assert [(m.taken_at, m.amount, m.kind) for m in measured] == [
        (at, Decimal("1.50"), MeasurementKind.MANUAL), (at, Decimal(2), MeasurementKind.SENSOR)
    ]


async def test_default_factories_run_per_row_on_the_column_path(db: Database) -> None:
    async with db.transaction() as session:
        repository = Repository(Badge, session)
        made = await repository.create_many([{"owner": "o", "code": f"c{i}"} for i in range(50)])
        count = await repository.create_many(
            [{"owner": "p", "code": f"c{i}"} for i in range(50)], returning=False
        )
    assert count == 50
    async with db.session() as session:
        stored = (await session.exec(select(Badge).order_by(Badge.id))).all()
    tokens = [b.token for b in stored]
    assert len(set(tokens)) == 100 and all(len(token) == 32 for token in tokens)
    assert [b.token for b in made] == tokens[:50]


async def test_created_instances_behave_like_the_old_ones(db: Database) -> None:
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(
            [{"name": f"b{i}", "secret_name": "x"} for i in range(3)]
        )
    hero, reference = created[0], old_way(created[0])
    for instance in (hero, reference):
        instance.age = 33
        instance.secret_name = "changed"
    assert snapshot(hero) == snapshot(reference)
    assert sa.inspect(hero).committed_state == {"age": None, "secret_name": "x"}
    async with db.transaction() as session:
        attached = await session.merge(created[1])
        attached.power_level = 99.0
        assert sa.inspect(created[1]).transient  # merge copies; the instance stays out
    by_id = {h.id: h for h in await all_heroes(db)}
    assert (by_id[created[1].id].power_level, by_id[hero.id].age) == (99.0, None)


async def test_the_collector_is_left_as_the_caller_had_it(db: Database) -> None:
    rows = [{"name": f"g{i}", "secret_name": "x"} for i in range(10)]
    async with db.transaction() as session:
        assert len(await Repository(Hero, session).create_many(rows[:5])) == 5
        assert gc.isenabled()
        gc.disable()
        try:
            assert len(await Repository(Hero, session).create_many(rows[5:])) == 5
            assert not gc.isenabled()
        finally:
            gc.enable()
