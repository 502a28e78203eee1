"""The bulk calls' fast paths for plain dicts (uniform key sets read column by column, the
caller's dicts used without copies) keep the row-by-row semantics, on every backend."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlmodel import select

from sqlmodel_async import BulkInputError, Database, InvalidDataError, Repository

from .models import Hero
from .support.recorders import queries
from .support.seeds import all_heroes


async def test_bulk_calls_leave_the_callers_rows_unchanged(db: Database) -> None:
    rows = [{"name": f"h{i}", "secret_name": "s", "age": None} for i in range(50)]
    before = copy.deepcopy(rows)
    async with db.transaction() as session:
        assert await Repository(Hero, session).create_many(rows, returning=False) == 50
    assert rows == before
    ids = [hero.id for hero in await all_heroes(db)]
    full = [{"id": key, "name": f"u{key}", "secret_name": "t", "age": 3, "power_level": 1.0,
             "team_id": None, "created_at": None} for key in ids]
    changes = [{"id": key, "age": 7} for key in ids]
    saved = copy.deepcopy((full, changes))
    async with db.transaction() as session:
        repository = Repository(Hero, session)
        assert await repository.upsert_many(full, conflict=["id"]) == 50
        assert await repository.update_many(changes) == 50
    assert (full, changes) == saved
    stored = await all_heroes(db)
    assert {(h.name[0], h.secret_name, h.age, h.power_level) for h in stored} == {
        ("u", "t", 7, 1.0)
    }


async def test_update_many_refuses_a_row_without_its_key_before_writing(db: Database) -> None:
    async with db.transaction() as session:
        created = await Repository(Hero, session).create_many(
            [{"name": "a", "secret_name": "x", "age": 1}, {"name": "b", "secret_name": "x"}]
        )
    rows = [{"id": created[0].id, "age": 5}, {"id": None, "age": 6}]
    async with db.transaction() as session:
        await session.connection()
        with queries(db) as statements, pytest.raises(BulkInputError) as caught:
            await Repository(Hero, session).update_many(rows)
    assert (caught.value.row, caught.value.column) == (1, "id")
    assert not [s for s in statements if s.upper().startswith("UPDATE")]
    assert [h.age for h in await all_heroes(db)] == [1, None]


async def test_create_many_with_a_key_given_in_some_rows_only(db: Database) -> None:
    # One key set, but the auto-increment key is None in some rows: those rows leave it
    # to the database, the others keep theirs (the column-by-column path steps aside).
    rows: list[dict[str, Any]] = [
        {"id": 1000 + i if i % 2 else None, "name": f"h{i}", "secret_name": "s"}
        for i in range(10)
    ]
    async with db.transaction() as session:
        assert await Repository(Hero, session).create_many(rows, returning=False) == 10
    stored = await all_heroes(db)
    by_name = {h.name: h.id for h in stored}
    assert [by_name[f"h{i}"] for i in range(1, 10, 2)] == [1001, 1003, 1005, 1007, 1009]
    assert len(set(by_name.values())) == 10 and {h.power_level for h in stored} == {50.0}


async def test_create_many_column_path_refuses_a_bad_value_by_row(db: Database) -> None:
    rows = [{"name": f"h{i}", "secret_name": "s", "age": i} for i in range(30)]
    rows[17]["age"] = "seventeen"
    async with db.transaction() as session:
        with pytest.raises(InvalidDataError) as caught:
            await Repository(Hero, session).create_many(rows, returning=False)
    assert isinstance(caught.value, BulkInputError)
    assert (caught.value.row, caught.value.column) == (17, "age")
    async with db.session() as session:
        assert (await session.exec(select(Hero))).all() == []


def test_the_errors_keep_their_old_import_paths() -> None:
    """Every exception of the library lives in errors.py and the public ones are exported;
    the modules they were first defined in still import them from there."""
    import sqlmodel_async
    from sqlmodel_async import bulk_rows, errors, filters, pagination

    for module, names in (
        (bulk_rows, ["BulkInputError"]),
        (pagination, ["InvalidPageError", "InvalidCursorError", "InsecureCursorSecretWarning"]),
        (filters, ["InvalidFilterError"]),
    ):
        for name in names:
            assert getattr(module, name) is getattr(errors, name) is getattr(sqlmodel_async, name)
            assert name in sqlmodel_async.__all__

