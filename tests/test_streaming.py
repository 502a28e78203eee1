"""stream() and stream_rows() and the NDJSON / CSV encoders, on every backend."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, Repository, encode_csv, encode_ndjson

from .models import Hero
from .support.recorders import queries
from .support.seeds import ids_in_order, insert_heroes


@pytest.mark.parametrize("batch_size", [1, 7, 100, 250, 251, 1000])
async def test_stream_yields_every_row_once_in_order(db: Database, batch_size: int) -> None:
    await insert_heroes(db, 250)
    async with db.session() as session:
        with queries(db, starting="SELECT") as selects:
            heroes = Repository(Hero, session)
            streamed = [hero.id async for hero in heroes.stream(batch_size=batch_size)]
        reference = await ids_in_order(session, [])
    assert streamed == reference and len(reference) == 250
    # One bounded query per batch (plus one that finds the end when the last is full).
    assert len(selects) == 250 // batch_size + 1


@pytest.mark.parametrize(
    "order_by",
    [
        [Hero.age.desc()],  # type: ignore[union-attr]  # heavy duplicates and NULLs
        [Hero.age, Hero.power_level.desc()],  # type: ignore[attr-defined]  # mixed
    ],
)
async def test_stream_in_any_keyset_order(db: Database, order_by: list[Any]) -> None:
    await insert_heroes(db, 130)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        streamed = [hero.id async for hero in heroes.stream(batch_size=9, order_by=order_by)]
        reference = await ids_in_order(session, order_by)
    assert streamed == reference and len(set(streamed)) == 130


async def test_stream_with_filters(db: Database) -> None:
    await insert_heroes(db, 100)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        streamed = [hero async for hero in heroes.stream(Hero.age == 3, batch_size=8)]
        assert len(streamed) == await heroes.count(Hero.age == 3)
    assert all(hero.age == 3 for hero in streamed)


async def test_streamed_instances_stay_out_of_the_session(db: Database) -> None:
    """The seed's loop leaves every hero in the session's identity map (memory grows with
    the table); stream() builds detached instances and the map stays empty."""
    await insert_heroes(db, 120)
    async with db.session() as session:
        seed_seen = [hero async for hero in seed_stream_heroes_async(session, batch_size=25)]
        assert len(session.identity_map) == len(seed_seen) == 120
    async with db.session() as session:
        count = 0
        async for hero in Repository(Hero, session).stream(batch_size=25):
            count += 1
            assert hero not in session
        assert count == 120 and len(session.identity_map) == 0


async def test_streamed_instance_is_saved_through_another_session(db: Database) -> None:
    """Detached with its identity: adding it to a writer session saves its changes as an
    UPDATE, with no SELECT first."""
    await insert_heroes(db, 30)
    async with db.session() as reader:
        async for hero in Repository(Hero, reader).stream(batch_size=10):
            async with db.transaction() as writer:
                writer.add(hero)
                hero.power_level = hero.power_level + 100
    async with db.session() as session:
        powers = (await session.exec(select(Hero.power_level))).all()
    assert len(powers) == 30 and all(power >= 100 for power in powers)


# The seed's streaming loop, verbatim but for the model: OFFSET batches with no ORDER BY.
async def seed_stream_heroes_async(
    session: AsyncSession, batch_size: int = 100
) -> AsyncIterator[Hero]:
    offset = 0
    while True:
        statement = select(Hero).offset(offset).limit(batch_size)
        batch = (await session.exec(statement)).all()  # (the seed also forgot this await)
        if not batch:
            break
        for hero in batch:
            yield hero
        offset += batch_size


async def test_seed_loop_skips_rows_removed_while_processing(db: Database) -> None:
    """Processing that removes each handled row (a queue drain), committed in the reading
    session as the seed does: every later OFFSET shifts and the seed's loop skips rows, on
    every backend. stream(), with the writes in their own session, sees each row once."""
    await insert_heroes(db, 200)
    seed_seen = []
    async with db.session() as session:
        async for hero in seed_stream_heroes_async(session, batch_size=20):
            assert hero.id is not None
            seed_seen.append(hero.id)
            await session.exec(sa.delete(Hero).where(Hero.id == hero.id))  # type: ignore[call-overload]
            await session.commit()
    assert len(seed_seen) < 200  # rows skipped

    await insert_heroes(db, 200, start=1000)
    async with db.session() as session:
        present = set(await ids_in_order(session, []))
    ours = []
    async with db.session() as session:
        async for hero in Repository(Hero, session).stream(batch_size=20):
            assert hero.id is not None
            ours.append(hero.id)
            async with db.transaction() as writer:
                await writer.exec(sa.delete(Hero).where(Hero.id == hero.id))  # type: ignore[call-overload]
    assert len(ours) == len(set(ours)) and set(ours) == present


async def empty_heroes(db: Database) -> None:
    async with db.transaction() as session:
        await session.exec(sa.delete(Hero))  # type: ignore[call-overload]


async def seed_update_hero_power_level(session: AsyncSession, hero_id: int) -> None:
    """What the seed's `update_hero_power_level(session, hero.id)` does: a write and commit
    in the session that is reading."""
    hero = await session.get(Hero, hero_id)
    assert hero is not None
    hero.power_level += 1
    session.add(hero)
    await session.commit()


async def test_seed_updates_inside_the_reading_session(db: Database) -> None:
    """On PostgreSQL an UPDATE writes a new row version elsewhere in the table, so the next
    OFFSET batch without ORDER BY meets rows again and skips others. stream() with the writes
    in another session updates every row exactly once on every backend."""
    await insert_heroes(db, 300)
    seed_seen: list[int] = []
    async with db.session() as session:
        async for hero in seed_stream_heroes_async(session, batch_size=50):
            assert hero.id is not None
            seed_seen.append(hero.id)
            await seed_update_hero_power_level(session, hero.id)
    if db.backend.name == "postgresql":
        assert len(set(seed_seen)) < 300 or len(seed_seen) != len(set(seed_seen))

    await empty_heroes(db)
    await insert_heroes(db, 300)
    seen: list[int] = []
    async with db.session() as reader:
        async for hero in Repository(Hero, reader).stream(batch_size=50):
            assert hero.id is not None
            seen.append(hero.id)
            async with db.transaction() as writer:
                writer.add(hero)
                hero.power_level += 1
    assert len(seen) == len(set(seen)) == 300
    async with db.session() as session:
        powers = (await session.exec(select(Hero.power_level))).all()
    assert sorted(powers) == sorted(float(i % 3) + 1 for i in range(300))


# --- the row form and the encoders ------------------------------------------------------------

AWKWARD = [
    "comma, inside",
    'a "quoted" word',
    "line\nbreak",
    "carriage\r\nreturn",
    "unicode: é ß 漢字 🦸",
    " leading and trailing spaces ",
    "",
    '"',
    "=1+2",
]


async def insert_awkward(db: Database) -> None:
    rows = [
        {
            "name": f"{index:02d} {text}",
            "secret_name": text,
            "age": None if index % 2 else index,
            "power_level": index / 3,
            "created_at": datetime(2024, 5, 6, 7, 8, index, tzinfo=UTC),
        }
        for index, text in enumerate(AWKWARD)
    ]
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(Hero.__table__), rows)  # type: ignore[arg-type]


async def test_stream_rows_gives_plain_dicts_of_the_chosen_columns(db: Database) -> None:
    await insert_heroes(db, 40)
    columns = ["name", "age"]
    order_by = [Hero.power_level.desc()]  # type: ignore[attr-defined]  # not among the columns
    async with db.session() as session:
        rows = [
            row
            async for row in Repository(Hero, session).stream_rows(
                batch_size=6, order_by=order_by, columns=columns
            )
        ]
        walk = Repository(Hero, session).stream(batch_size=100, order_by=order_by)
        heroes = [h async for h in walk]
        assert len(session.identity_map) == 0
    assert all(type(row) is dict and list(row) == columns for row in rows)
    assert rows == [{"name": h.name, "age": h.age} for h in heroes]
    with pytest.raises(ValueError, match="no column"):
        async with db.session() as session:
            [row async for row in Repository(Hero, session).stream_rows(columns=["nope"])]


async def test_csv_escaping_round_trip(db: Database) -> None:
    await insert_awkward(db)
    columns = ["id", "name", "secret_name", "age", "power_level", "created_at"]
    async with db.session() as session:
        heroes = Repository(Hero, session)
        chunks = [
            chunk
            async for chunk in encode_csv(
                heroes.stream_rows(batch_size=4, columns=columns), columns=columns, chunk_size=64,
                neutralise_formulas=False,  # exact values back (formulas: test_hostile_csv)
            )
        ]
        expected = [h async for h in heroes.stream()]
    assert len(chunks) > 1  # chunked, and the chunks join into one document
    text = b"".join(chunks).decode("utf-8")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == columns
    assert len(parsed) == len(AWKWARD) + 1
    for record, hero in zip(parsed[1:], expected, strict=True):
        assert record[1] == hero.name and record[2] == hero.secret_name
        assert record[3] == ("" if hero.age is None else str(hero.age))
        assert float(record[4]) == hero.power_level
        assert hero.created_at is not None
        assert datetime.fromisoformat(record[5]) == hero.created_at


async def test_csv_header_without_rows() -> None:
    async def nothing() -> AsyncIterator[dict[str, Any]]:
        return
        yield {}

    chunks = [chunk async for chunk in encode_csv(nothing(), columns=["id", "name"])]
    assert b"".join(chunks) == b"id,name\r\n"


async def test_ndjson_round_trip(db: Database) -> None:
    await insert_awkward(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        body = b"".join([chunk async for chunk in encode_ndjson(heroes.stream_rows(batch_size=3))])
        expected = [row async for row in heroes.stream_rows()]
    lines = body.decode("utf-8").split("\n")
    assert lines[-1] == ""  # every line ends with \n, newlines in values are escaped
    decoded = [json.loads(line) for line in lines[:-1]]
    assert len(decoded) == len(AWKWARD)
    for got, row in zip(decoded, expected, strict=True):
        assert got.keys() == row.keys()
        for key, value in row.items():
            if isinstance(value, datetime):
                assert datetime.fromisoformat(got[key]) == value
            else:
                assert got[key] == value


async def test_bad_batch_size_is_refused(db: Database) -> None:
    async with db.session() as session:
        for batch_size in (0, -1):
            with pytest.raises(ValueError, match="batch_size"):
                [hero async for hero in Repository(Hero, session).stream(batch_size=batch_size)]
