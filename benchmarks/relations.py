"""A page of 100 heroes, each with ~10 powers at a level (a many-to-many with data on the
link), as a response body, PostgreSQL:

- ours: `reader.project(Hero, HeroWithPowers).list_json(limit=100)`: the heroes, then their
  links joined to the powers for all 100 at once (`= ANY($1)`), JSON written from rows;
- hand-written: asyncpg running the same two queries on a pooled connection, the rows
  grouped into dicts and written with `json.dumps` (the best one writes by hand without
  extra packages);
- ORM: `select(Hero).options(selectinload(Hero.links).joinedload(Link.power))` then
  `HeroWithPowers.model_validate()` per hero and the schema's JSON (what the user writes
  without a projection).

    python -m benchmarks.relations            # 100 heroes x 10 powers, 300 requests per case
    BENCH_REQUESTS=50 python -m benchmarks.relations

Targets: ours >= 0.5x hand-written, >= 5x the ORM. All three bodies are checked equal
first. Requests are timed one after another, the cases interleaved round by round; the
median request time is reported. The machine is shared: the ratios of one run are what
holds, not the absolute numbers.

Database: BENCH_POSTGRESQL_URL (default: TEST_POSTGRESQL_URL, then the `test` database).
Tables `bench_rel_*` are created there and kept.
"""

import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from pydantic import Field as PydanticField
from pydantic import TypeAdapter
from sqlalchemy.orm import registry, selectinload
from sqlmodel import Field, Relationship, SQLModel, select

from sqlmodel_async import Database

RESULTS = Path(__file__).parent / "results"
HEROES = 1000
POWERS = 50
PER_HERO = 10
PAGE = 100


class BenchBase(SQLModel, registry=registry()):
    pass


class BenchLink(BenchBase, table=True):
    __tablename__ = "bench_rel_link"

    hero_id: int = Field(foreign_key="bench_rel_hero.id", primary_key=True)
    power_id: int = Field(foreign_key="bench_rel_power.id", primary_key=True)
    level: int
    power: "BenchPower" = Relationship(sa_relationship_kwargs={"viewonly": True})


class BenchHero(BenchBase, table=True):
    __tablename__ = "bench_rel_hero"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40)
    secret_name: str = Field(max_length=40)
    age: int | None = None
    power_level: float = Field(default=50.0, sa_type=sa.Double)
    powers: list["BenchPower"] = Relationship(link_model=BenchLink)
    # The ORM path's way to the link rows and their level.
    links: list[BenchLink] = Relationship(
        sa_relationship_kwargs={"viewonly": True, "order_by": "BenchLink.power_id"}
    )


class BenchPower(BenchBase, table=True):
    __tablename__ = "bench_rel_power"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40)


class PowerOut(SQLModel):
    id: int
    name: str


class HeroPowerOut(SQLModel):
    level: int
    power: PowerOut


class HeroWithPowers(SQLModel):
    id: int
    name: str
    secret_name: str
    age: int | None
    power_level: float
    # The ORM path reads the link rows from `links`; the JSON key is `powers` either way.
    powers: list[HeroPowerOut] = PydanticField(default=[], validation_alias="links")


HEROES_SQL = (
    "SELECT id, name, secret_name, age, power_level FROM bench_rel_hero "
    "ORDER BY id LIMIT $1 OFFSET $2"
)
LINKS_SQL = (
    "SELECT l.hero_id, l.level, p.id, p.name FROM bench_rel_link l "
    "JOIN bench_rel_power p ON p.id = l.power_id "
    "WHERE l.hero_id = ANY($1) ORDER BY l.power_id, l.hero_id"
)


def url() -> str:
    return os.environ.get("BENCH_POSTGRESQL_URL") or os.environ.get(
        "TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )


async def prepare(db: Database) -> None:
    """1000 heroes, 50 powers, 10 links per hero (kept if already there)."""
    await db.create_all()
    async with db.engine.begin() as connection:
        count = sa.text("SELECT count(*) FROM bench_rel_link")
        present = (await connection.execute(count)).scalar()
        if present == HEROES * PER_HERO:
            return
        for table in ("bench_rel_link", "bench_rel_hero", "bench_rel_power"):
            await connection.execute(sa.text(f"DELETE FROM {table}"))
        await connection.execute(sa.text(
            f"INSERT INTO bench_rel_power (id, name) SELECT n, 'power ' || n "
            f"FROM generate_series(1, {POWERS}) AS s(n)"
        ))
        await connection.execute(sa.text(
            "INSERT INTO bench_rel_hero (id, name, secret_name, age, power_level) "
            "SELECT n, 'hero ' || n, 'secret ' || n, 20 + n % 50, n * 1.5 "
            f"FROM generate_series(1, {HEROES}) AS s(n)"
        ))
        await connection.execute(sa.text(
            "INSERT INTO bench_rel_link (hero_id, power_id, level) "
            f"SELECT h, 1 + (h * 7 + k * 5) % {POWERS}, k + 1 "
            f"FROM generate_series(1, {HEROES}) AS a(h), "
            f"generate_series(0, {PER_HERO - 1}) AS b(k)"
        ))


def asyncpg_dsn(database_url: str) -> str:
    return sa.engine.make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


async def main() -> None:
    requests = int(os.environ.get("BENCH_REQUESTS", "300"))
    db = Database(url(), metadata=BenchBase.metadata)
    pool = await asyncpg.create_pool(asyncpg_dsn(url()), min_size=1, max_size=1)
    try:
        await prepare(db)
        offsets = [(n * PAGE) % (HEROES - PAGE) for n in range(10)]

        async def ours(offset: int) -> bytes:
            async with db.reader() as reader:
                projected = reader.project(BenchHero, HeroWithPowers)
                return await projected.list_json(offset=offset, limit=PAGE)

        async def hand_written(offset: int) -> bytes:
            async with pool.acquire() as connection:
                heroes = await connection.fetch(HEROES_SQL, PAGE, offset)
                keys = [row[0] for row in heroes]
                links = await connection.fetch(LINKS_SQL, keys)
            grouped: dict[int, list[dict[str, Any]]] = {key: [] for key in keys}
            for hero_id, level, power_id, name in links:
                grouped[hero_id].append({"level": level, "power": {"id": power_id, "name": name}})
            body = [
                {"id": row[0], "name": row[1], "secret_name": row[2], "age": row[3],
                 "power_level": row[4], "powers": grouped[row[0]]}
                for row in heroes
            ]
            return json.dumps(body, separators=(",", ":")).encode()

        validator = HeroWithPowers.__pydantic_validator__
        many = TypeAdapter(list[HeroWithPowers])

        async def orm(offset: int) -> bytes:
            statement = (
                select(BenchHero).order_by(BenchHero.id).offset(offset).limit(PAGE)  # type: ignore[arg-type]
                .options(selectinload(BenchHero.links).joinedload(BenchLink.power))  # type: ignore[arg-type]
            )
            async with db.session() as session:
                heroes = (await session.exec(statement)).all()
                items = [validator.validate_python(hero, from_attributes=True) for hero in heroes]
            return many.dump_json(items, by_alias=True)

        cases: dict[str, Callable[[int], Awaitable[bytes]]] = {
            "ours (Reader.list_json)": ours,
            "hand-written asyncpg": hand_written,
            "ORM (selectinload + model_validate)": orm,
        }
        bodies = {name: json.loads(await case(offsets[1])) for name, case in cases.items()}
        first = next(iter(bodies.values()))
        assert all(body == first for body in bodies.values()), "the bodies differ"
        assert len(first) == PAGE and all(len(hero["powers"]) == PER_HERO for hero in first)
        for case in cases.values():  # warm-up: statements prepared, caches filled
            for offset in offsets:
                await case(offset)
        timings: dict[str, list[float]] = {name: [] for name in cases}
        for n in range(requests):
            offset = offsets[n % len(offsets)]
            for name, case in cases.items():
                start = time.perf_counter()
                await case(offset)
                timings[name].append(time.perf_counter() - start)
    finally:
        await pool.close()
        await db.dispose()

    medians = {name: statistics.median(values) for name, values in timings.items()}
    ours_time = medians["ours (Reader.list_json)"]
    print(f"A page of {PAGE} heroes x {PER_HERO} powers, PostgreSQL, {requests} requests per case")
    print(f"{'case':40} {'median ms':>10} {'req/s':>8}")
    for name, value in medians.items():
        print(f"{name:40} {value * 1000:10.2f} {1 / value:8.0f}")
    vs_hand = medians["hand-written asyncpg"] / ours_time
    vs_orm = medians["ORM (selectinload + model_validate)"] / ours_time
    print(f"ours vs hand-written: {vs_hand:.2f}x (target >= 0.5x)")
    print(f"ours vs ORM:          {vs_orm:.2f}x (target >= 5x)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "relations.json").write_text(json.dumps({
        "machine": platform.node(), "requests": requests, "page": PAGE, "per_hero": PER_HERO,
        "median_seconds": medians, "ours_vs_hand_written": vs_hand, "ours_vs_orm": vs_orm,
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
