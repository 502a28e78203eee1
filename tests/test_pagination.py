"""Numbered pages and keyset cursor pages, on every backend."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlmodel import select

from sqlmodel_async import (
    CursorCodec,
    CursorPage,
    Database,
    InsecureCursorSecretWarning,
    InvalidCursorError,
    InvalidPageError,
    Page,
    Repository,
)
from sqlmodel_async import pagination as pagination_module
from sqlmodel_async.dialects import MYSQL, POSTGRESQL, SQLITE
from sqlmodel_async.fastapi import error_response
from sqlmodel_async.keyset import Keyset

from .models import Hero, Team
from .support.seeds import ids_in_order, insert_heroes

SECRET = "test-secret-0123456789abcdef"


# --- numbered pages -----------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 9, 10, 11, 25])
async def test_page_math_at_the_edges(db: Database, count: int) -> None:
    await insert_heroes(db, count)
    size = 10
    expected_pages = (count + size - 1) // size
    seen: list[int | None] = []
    async with db.session() as session:
        heroes = Repository(Hero, session)
        for number in range(1, expected_pages + 2):  # one past the last page
            page = await heroes.paginate(page=number, size=size)
            assert isinstance(page, Page)
            assert (page.total, page.page, page.size, page.pages) == (
                count, number, size, expected_pages
            )
            assert len(page.items) == max(0, min(size, count - (number - 1) * size))
            seen.extend(hero.id for hero in page.items)
        reference = await ids_in_order(session, [])
    assert seen == reference


async def test_total_stays_right_far_past_the_last_page(db: Database) -> None:
    await insert_heroes(db, 12)
    async with db.session() as session:
        page = await Repository(Hero, session).paginate(page=50, size=5)
    assert page.items == []
    assert (page.total, page.pages) == (12, 3)


async def test_filters_and_skipping_the_total(db: Database) -> None:
    await insert_heroes(db, 30)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        counted = await heroes.paginate(Hero.age == 2, page=1, size=4)
        uncounted = await heroes.paginate(Hero.age == 2, page=1, size=4, include_total=False)
        expected = await heroes.count(Hero.age == 2)
    assert counted.total == expected and counted.pages == -(-expected // 4)
    assert all(hero.age == 2 for hero in counted.items)
    assert (uncounted.total, uncounted.pages) == (None, None)
    assert [h.id for h in uncounted.items] == [h.id for h in counted.items]


async def test_pages_over_duplicates_never_repeat_or_skip(db: Database) -> None:
    """ORDER BY age alone leaves equal ages in any order from one query to the next; the
    primary key appended as tie-breaker makes the pages a partition."""
    await insert_heroes(db, 47)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        seen: list[int | None] = []
        for number in range(1, 6):
            page = await heroes.paginate(page=number, size=10, order_by=[Hero.age.desc()])  # type: ignore[union-attr]
            seen.extend(hero.id for hero in page.items)
        reference = await ids_in_order(session, [Hero.age.desc()])  # type: ignore[union-attr]
    assert seen == reference and len(set(seen)) == 47


@pytest.mark.parametrize(
    ("page", "size", "parameter"),
    [(0, 10, "page"), (-1, 10, "page"), (1, 0, "size"), (1, 1001, "size"), (True, 10, "page")],
)
async def test_bad_page_or_size_is_refused(
    db: Database, page: Any, size: int, parameter: str
) -> None:
    async with db.session() as session:
        with pytest.raises(InvalidPageError) as caught:
            await Repository(Hero, session).paginate(page=page, size=size)
    assert caught.value.column == parameter
    response = error_response(caught.value)
    assert response.status_code == 422
    assert json.loads(response.body)["detail"][0]["loc"] == ["query", parameter]


async def test_max_size_is_configurable(db: Database) -> None:
    await insert_heroes(db, 3)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        with pytest.raises(InvalidPageError):
            await heroes.paginate(page=1, size=101, max_size=100)
        assert (await heroes.paginate(page=1, size=100, max_size=100)).total == 3


# The seed's pagination code, verbatim but for the model: `func` is never imported, and
# `session.exec(...)` is awaited only after `.one()` / `.all()` are called on the coroutine.
async def seed_get_paginated_heroes_async(session: Any, page: int = 1, size: int = 10) -> Any:
    offset = (page - 1) * size
    count_statement = select(func.count(Hero.id))  # type: ignore[name-defined]  # noqa: F821
    total = await session.exec(count_statement).one()
    statement = select(Hero).offset(offset).limit(size)
    items = await session.exec(statement).all()
    pages = (total + size - 1) // size
    return items, total, pages


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
async def test_seed_pagination_fails_where_ours_works(db: Database) -> None:
    await insert_heroes(db, 5)
    async with db.session() as session:
        with pytest.raises(NameError, match="func"):
            await seed_get_paginated_heroes_async(session)
        # With `func` imported, the next bug: .one() on the un-awaited coroutine.
        seed_globals = seed_get_paginated_heroes_async.__globals__
        seed_globals["func"] = sa.func
        try:
            with pytest.raises(AttributeError, match="coroutine"):
                await seed_get_paginated_heroes_async(session)
        finally:
            del seed_globals["func"]
        page = await Repository(Hero, session).paginate(page=1, size=10)
    assert (len(page.items), page.total, page.pages) == (5, 5, 1)


# --- cursor pages ---------------------------------------------------------------------------

ORDERS = {
    "age": lambda: [Hero.age],
    "age desc": lambda: [Hero.age.desc()],  # type: ignore[union-attr]
    "age, power desc (mixed)": lambda: [Hero.age, Hero.power_level.desc()],  # type: ignore[attr-defined]
    "power desc, created_at (mixed)": lambda: [Hero.power_level.desc(), Hero.created_at],  # type: ignore[attr-defined]
    "created_at desc, name": lambda: [Hero.created_at.desc(), Hero.name],  # type: ignore[union-attr]
    "primary key": lambda: [],
}


async def walk(
    db: Database, order_by: Sequence[Any], limit: int, *, between_pages: Any = None
) -> list[int]:
    """Every cursor page in turn, each in its own session (as separate HTTP requests)."""
    seen: list[int] = []
    after: str | None = None
    for _ in range(10_000):
        async with db.session() as session:
            page = await Repository(Hero, session).paginate_cursor(
                limit=limit, after=after, order_by=order_by, secret=SECRET
            )
        assert isinstance(page, CursorPage)
        assert len(page.items) <= limit
        seen.extend(hero.id for hero in page.items if hero.id is not None)
        if page.next_cursor is None:
            return seen
        assert len(page.items) == limit
        if between_pages is not None:
            await between_pages(len(seen))
        after = page.next_cursor
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("order", list(ORDERS))
async def test_cursor_walk_covers_every_row_once(db: Database, order: str) -> None:
    await insert_heroes(db, 103)
    order_by = ORDERS[order]()
    seen = await walk(db, order_by, limit=10)
    async with db.session() as session:
        assert seen == await ids_in_order(session, order_by)
    assert len(seen) == 103


@pytest.mark.parametrize("order", ["age", "age desc", "age, power desc (mixed)"])
async def test_cursor_walk_with_rows_inserted_between_pages(db: Database, order: str) -> None:
    """Rows inserted while the client pages (some sorting before its position, some after)
    never make an existing row repeat or vanish; new rows after the position are seen."""
    await insert_heroes(db, 60)
    async with db.session() as session:
        original = set(await ids_in_order(session, []))
    added = 0

    async def insert_two(_seen: int) -> None:
        nonlocal added
        await insert_heroes(db, 2, start=1000 + added)
        added += 2

    order_by = ORDERS[order]()
    seen = await walk(db, order_by, limit=7, between_pages=insert_two)
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert original <= set(seen), "a row was skipped"
    async with db.session() as session:
        reference = await ids_in_order(session, order_by)
    # The walk is the final order with the rows inserted behind the position left out.
    assert seen == [hero_id for hero_id in reference if hero_id in set(seen)]
    assert len(seen) > len(original)


async def test_cursor_values_keep_their_types(db: Database) -> None:
    """Datetimes and floats come back from the cursor as the column's type, so the next
    page compares like with like on every backend."""
    await insert_heroes(db, 40)
    order_by = [Hero.created_at.desc(), Hero.power_level]  # type: ignore[union-attr]
    async with db.session() as session:
        first = await Repository(Hero, session).paginate_cursor(
            limit=15, order_by=order_by, secret=SECRET
        )
    assert first.next_cursor is not None
    keyset = Keyset(Hero, order_by)
    values = CursorCodec(SECRET).decode(keyset, first.next_cursor)
    last = first.items[-1]
    assert values == [last.created_at, last.power_level, last.id]
    assert isinstance(values[0], datetime)


async def test_filters_apply_on_every_page(db: Database) -> None:
    await insert_heroes(db, 50)
    seen: list[Hero] = []
    after = None
    async with db.session() as session:
        heroes = Repository(Hero, session)
        while True:
            page = await heroes.paginate_cursor(
                Hero.age >= 3, limit=4, after=after, order_by=[Hero.name.desc()], secret=SECRET  # type: ignore[attr-defined,operator]
            )
            seen.extend(page.items)
            if page.next_cursor is None:
                break
            after = page.next_cursor
        expected = await heroes.count(Hero.age >= 3)  # type: ignore[operator]
    assert len(seen) == expected and all(h.age is not None and h.age >= 3 for h in seen)
    assert [h.name for h in seen] == sorted((h.name for h in seen), reverse=True)


async def test_empty_table_and_exact_fit(db: Database) -> None:
    async with db.session() as session:
        empty = await Repository(Hero, session).paginate_cursor(limit=5, secret=SECRET)
    assert (empty.items, empty.next_cursor) == ([], None)
    await insert_heroes(db, 5)
    async with db.session() as session:
        exact = await Repository(Hero, session).paginate_cursor(limit=5, secret=SECRET)
    # Five rows, limit five: no cursor to an empty page.
    assert len(exact.items) == 5 and exact.next_cursor is None


# --- cursors that must be refused ------------------------------------------------------------


async def first_cursor(db: Database, order_by: Sequence[Any], secret: str = SECRET) -> str:
    async with db.session() as session:
        page = await Repository(Hero, session).paginate_cursor(
            limit=3, order_by=order_by, secret=secret
        )
    assert page.next_cursor is not None
    return page.next_cursor


def _tamper_value(cursor: str) -> str:
    """Re-encode the payload with the last id changed, keeping the old signature."""
    body, signature = cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload[2][-1] += 1
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{forged}.{signature}"


async def test_tampered_truncated_and_foreign_cursors_are_refused(db: Database) -> None:
    await insert_heroes(db, 10)
    cursor = await first_cursor(db, [Hero.age])
    flipped = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    bad = {
        "flipped character": flipped,
        "value changed, old signature": _tamper_value(cursor),
        "truncated": cursor[: len(cursor) // 2],
        "signature cut": cursor.split(".")[0],
        "garbage": "not a cursor at all",
        "non-ascii": "é" + cursor,
        "other secret": await first_cursor(db, [Hero.age], secret="another-secret-0123456789"),
        "other order": await first_cursor(db, [Hero.age.desc()]),  # type: ignore[union-attr]
    }
    async with db.session() as session:
        heroes = Repository(Hero, session)
        for name, value in bad.items():
            with pytest.raises(InvalidCursorError):
                await heroes.paginate_cursor(
                    limit=3, after=value, order_by=[Hero.age], secret=SECRET
                )
            assert name
        # A cursor from the heroes is refused for teams, even with the same order shape.
        with pytest.raises(InvalidCursorError, match="another model or order"):
            await Repository(Team, session).paginate_cursor(limit=3, after=cursor, secret=SECRET)
        # The genuine cursor still works.
        page = await heroes.paginate_cursor(
            limit=3, after=cursor, order_by=[Hero.age], secret=SECRET
        )
    assert len(page.items) == 3


async def test_invalid_cursor_is_a_400() -> None:
    response = error_response(InvalidCursorError("bad signature"))
    assert response.status_code == 400
    assert json.loads(response.body) == {"detail": "invalid cursor"}


def test_cursor_secret_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        CursorCodec("short")


def test_default_secret_warns_and_env_secret_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    pagination_module.default_codec.cache_clear()
    monkeypatch.delenv(pagination_module.CURSOR_SECRET_ENV, raising=False)
    try:
        with pytest.warns(InsecureCursorSecretWarning):
            pagination_module.codec_for(None)
        pagination_module.default_codec.cache_clear()
        monkeypatch.setenv(pagination_module.CURSOR_SECRET_ENV, SECRET)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            codec = pagination_module.codec_for(None)
        keyset = Keyset(Hero, [Hero.age])
        # Same secret from the environment: cursors interchange with CursorCodec(SECRET).
        assert codec.decode(keyset, CursorCodec(SECRET).encode(keyset, [1, 2])) == [1, 2]
    finally:
        pagination_module.default_codec.cache_clear()


async def test_bad_limits_and_orders_are_refused(db: Database) -> None:
    async with db.session() as session:
        heroes = Repository(Hero, session)
        for limit in (0, -5, 1001):
            with pytest.raises(InvalidPageError):
                await heroes.paginate_cursor(limit=limit, secret=SECRET)
        with pytest.raises(ValueError, match="columns of Hero"):
            await heroes.paginate_cursor(
                limit=5, order_by=[sa.func.lower(Hero.name)], secret=SECRET
            )
        with pytest.raises(ValueError, match="columns of Hero"):
            await heroes.paginate_cursor(limit=5, order_by=[Team.name], secret=SECRET)
        with pytest.raises(ValueError, match="nulls_first"):
            await heroes.paginate_cursor(
                limit=5, order_by=[Hero.age.desc().nulls_last()], secret=SECRET  # type: ignore[union-attr]
            )


# --- the comparison form per backend ----------------------------------------------------------


DIALECTS = {
    "postgresql": postgresql.dialect(), "sqlite": sqlite.dialect(), "mysql": mysql.dialect()
}


@pytest.mark.parametrize(
    ("backend", "order", "row_values"),
    [
        (POSTGRESQL, "same direction", True),
        (SQLITE, "same direction", True),
        (MYSQL, "same direction", False),  # MariaDB scans the whole index for row values
        (POSTGRESQL, "mixed", False),
        (POSTGRESQL, "nullable", False),
    ],
)
def test_comparison_form_is_chosen_per_backend(backend: Any, order: str, row_values: bool) -> None:
    order_by, values = {
        "same direction": ([Hero.power_level.desc()], [1.0, 7]),  # type: ignore[attr-defined]
        "mixed": ([Hero.power_level.desc(), Hero.name], [1.0, "x", 7]),  # type: ignore[attr-defined]
        "nullable": ([Hero.age], [3, 7]),
    }[order]
    clause = Keyset(Hero, order_by).after(values, backend)
    sql = str(clause.compile(dialect=DIALECTS[backend.name]))
    first = "age" if order == "nullable" else "power_level"
    if row_values:
        assert sql.startswith("(t_hero.power_level, t_hero.id) <")
    else:
        # Expanded, with a leading bound on the first column: an index range everywhere.
        assert " OR " in sql and "(t_hero.power_level, t_hero.id)" not in sql
        assert sql.lstrip("(").startswith(f"t_hero.{first} ")
