"""Bulk writes: our calls against the seed's patterns, the ORM, the best hand-written SQL
over the raw driver, FastCRUD and Advanced Alchemy, on every backend.

    make bench                           # python -m benchmarks: every benchmark module
    python -m benchmarks.bulk            # this one; BENCH_QUICK=1 (or --quick) for 5k rows
    BENCH_BACKENDS=postgresql python -m benchmarks.bulk

Rows of the Hero shape; the median of 3 runs per case, each in its own transaction on an
emptied table; rows/s and the target ratios. The seed's per-row patterns run on fewer rows
(they are reported as rows/s). JSON: benchmarks/results/bulk.json.
Databases: BENCH_POSTGRESQL_URL / BENCH_MARIADB_URL (default TEST_*_URL, then `test`).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, select

from sqlmodel_async import Database, Repository

QUICK = bool(os.environ.get("BENCH_QUICK")) or "--quick" in sys.argv
ROWS = int(os.environ.get("BENCH_ROWS", 5_000 if QUICK else 100_000))
SEED_ROWS = min(ROWS, 300 if QUICK else 2_000)  # the per-row patterns, on fewer rows
ORM_ROWS = min(ROWS, 2_000 if QUICK else 20_000)
PEER_ROWS = ORM_ROWS  # FastCRUD / Advanced Alchemy run at ORM speed: fewer rows, same shape
MEMORY_ROWS = int(os.environ.get("BENCH_MEMORY_ROWS", 100_000 if QUICK else 1_000_000))
RUNS = 3
RESULTS = Path(__file__).parent / "results" / "bulk.json"
URLS = {
    "postgresql": os.environ.get("BENCH_POSTGRESQL_URL")
    or os.environ.get("TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("BENCH_MARIADB_URL")
    or os.environ.get("TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/test"),
}


class BenchBase(SQLModel, registry=registry()):
    pass


class BenchHero(BenchBase, table=True):
    __tablename__ = "bench_hero"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    secret_name: str
    age: int | None = Field(default=None, index=True)
    power_level: float = Field(default=50.0, sa_type=sa.Double)
    team_id: int | None = Field(default=None)


class BenchHeroRow(SQLModel):
    """FastCRUD's upsert_multi takes pydantic rows (with the key it upserts on)."""

    id: int
    name: str
    secret_name: str
    age: int | None = None
    power_level: float = 50.0
    team_id: int | None = None


COLUMNS = ("name", "secret_name", "age", "power_level", "team_id")
FULL = ("id", *COLUMNS)


COPY_PREBUILT = "raw asyncpg copy_records_to_table (tuples built untimed)"


def rows(n: int, start: int = 0, tag: str = "h") -> list[dict[str, Any]]:
    return [
        {"name": f"{tag}{i}", "secret_name": f"secret {i}", "age": i % 80,
         "power_level": float(i % 100), "team_id": None}
        for i in range(start, start + n)
    ]


# --- measuring ----------------------------------------------------------------------------


class Bench:
    def __init__(self, backend: str, db: Database) -> None:
        self.backend = backend
        self.db = db
        self.results: dict[str, dict[str, Any]] = {}
        #: The raw driver's own connection, opened once (outside the timings).
        self.raw: Any = None

    async def open_raw(self) -> None:
        url = make_url(self.db.engine.url)
        if self.backend == "postgresql":
            import asyncpg

            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.raw = await asyncpg.connect(dsn)
        elif self.backend == "sqlite":
            self.raw = sqlite3.connect(url.database or "", isolation_level=None)
            self.raw.execute("PRAGMA journal_mode = WAL")
            self.raw.execute("PRAGMA synchronous = NORMAL")
        else:
            import asyncmy

            self.raw = await asyncmy.connect(
                host=url.host, port=url.port or 3306, user=url.username,
                password=url.password or "", database=url.database,
            )

    async def close_raw(self) -> None:
        result = self.raw.close()
        if asyncio.iscoroutine(result):
            await result

    async def empty(self) -> None:
        statement = {
            "postgresql": "TRUNCATE bench_hero RESTART IDENTITY",
            "mariadb": "TRUNCATE TABLE bench_hero",
        }.get(self.backend, "DELETE FROM bench_hero")
        async with self.db.engine.begin() as connection:
            await connection.exec_driver_sql(statement)
        if self.backend == "sqlite":
            # Every run starts from the same file: no free pages left by the last run's
            # rows, no WAL to check back in (either makes the ratios swing from run to run).
            self.raw.execute("VACUUM")  # the raw connection is in autocommit mode
            self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def fill(self, n: int) -> list[int]:
        await self.empty()
        async with self.db.transaction() as session:
            await Repository(BenchHero, session).create_many(rows(n), returning=False)
        async with self.db.session() as session:
            return list((await session.exec(select(BenchHero.id).order_by(BenchHero.id))).all())

    async def case(
        self, name: str, n: int, run: Callable[[], Awaitable[Any]],
        setup: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        times = []
        error = None
        for _ in range(RUNS):
            await (setup() if setup else self.empty())
            start = time.perf_counter()
            try:
                await run()
            except Exception as exc:  # a pattern that fails is reported, not fatal
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
                break
            times.append(time.perf_counter() - start)
        if error:
            self.results[name] = {"rows": n, "error": error}
            print(f"  {name:<58} {'fails':>12}   {error}", flush=True)
            return
        median = statistics.median(times)
        self.results[name] = {"rows": n, "seconds": median, "rows_per_s": n / median}
        print(f"  {name:<58} {n / median:>12,.0f} rows/s   ({n:,} rows, {median:.3f} s)",
              flush=True)

    def ratio(self, label: str, ours: str, other: str, target: float) -> dict[str, Any]:
        a, b = self.results.get(ours, {}), self.results.get(other, {})
        if "rows_per_s" not in a or "rows_per_s" not in b:
            return {"label": label, "ratio": None, "target": target}
        value = a["rows_per_s"] / b["rows_per_s"]
        mark = "ok" if value >= target else "BELOW TARGET"
        print(f"  {label:<70} {value:>7.2f}x  (target >= {target}x) {mark}")
        return {"label": label, "ratio": value, "target": target, "met": value >= target}


# --- the cases ----------------------------------------------------------------------------


async def bench_create(b: Bench) -> None:
    db = b.db
    data = rows(ROWS)

    async def seed() -> None:  # the seed's pattern: add each, commit, refresh each
        async with db.session() as session:
            heroes = [BenchHero(**row) for row in data[:SEED_ROWS]]
            for hero in heroes:
                session.add(hero)
            await session.commit()
            for hero in heroes:
                await session.refresh(hero)

    async def orm_add_all() -> None:
        async with db.transaction() as session:
            session.add_all([BenchHero(**row) for row in data[:ORM_ROWS]])

    async def ours(returning: bool) -> None:
        async with db.transaction() as session:
            await Repository(BenchHero, session).create_many(data, returning=returning)

    instances: list[BenchHero] = []

    async def fresh_instances() -> None:
        await b.empty()
        instances[:] = [BenchHero(**row) for row in data]

    async def ours_instances() -> None:
        async with db.transaction() as session:
            await Repository(BenchHero, session).create_many(instances, returning=True)

    await b.case("seed: add + commit + refresh each (S9)", SEED_ROWS, seed)
    await b.case("ORM add_all + commit", ORM_ROWS, orm_add_all)
    await b.case("ours create_many(mappings, returning=False)", ROWS, lambda: ours(False))
    await b.case("ours create_many(mappings, returning=True)", ROWS, lambda: ours(True))
    await b.case("ours create_many(instances, returning=True)", ROWS, ours_instances,
                 fresh_instances)
    await raw_create(b, data)
    await peers_create(b, data, fresh_instances, instances)


async def raw_create(b: Bench, data: list[dict[str, Any]]) -> None:
    if b.backend == "postgresql":
        async def copy() -> None:
            connection = b.raw
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "bench_hero", records=[tuple(r[c] for c in COLUMNS) for r in data],
                    columns=list(COLUMNS),
                )

        async def executemany() -> None:
            connection = b.raw
            async with connection.transaction():
                await connection.executemany(
                    "INSERT INTO bench_hero (name, secret_name, age, power_level, team_id) "
                    "VALUES ($1, $2, $3, $4, $5)", [tuple(r[c] for c in COLUMNS) for r in data]
                )

        async def unnest() -> None:
            connection = b.raw
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO bench_hero (name, secret_name, age, power_level, team_id) "
                    "SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], "
                    "$5::int[])", *columns_of(data, COLUMNS)
                )

        # The stricter baseline: COPY of tuples made before the clock starts (the one above
        # turns the dicts into tuples inside it, as create_many must).
        records = [tuple(r[c] for c in COLUMNS) for r in data]

        async def copy_prebuilt() -> None:
            connection = b.raw
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "bench_hero", records=records, columns=list(COLUMNS)
                )

        await b.case("raw asyncpg copy_records_to_table", ROWS, copy)
        await b.case(COPY_PREBUILT, ROWS, copy_prebuilt)
        await b.case("raw asyncpg executemany INSERT", ROWS, executemany)
        await b.case("raw asyncpg INSERT ... SELECT unnest", ROWS, unnest)
    elif b.backend == "sqlite":
        async def sqlite_executemany() -> None:
            connection = b.raw
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT INTO bench_hero (name, secret_name, age, power_level, team_id) "
                "VALUES (?, ?, ?, ?, ?)", [tuple(r[c] for c in COLUMNS) for r in data]
            )
            connection.execute("COMMIT")

        await b.case("raw sqlite3 executemany (one transaction)", ROWS, sqlite_executemany)
    else:
        async def asyncmy_executemany() -> None:
            connection = b.raw
            async with connection.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO bench_hero (name, secret_name, age, power_level, team_id) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [tuple(r[c] for c in COLUMNS) for r in data],
                )
            await connection.commit()

        await b.case("raw asyncmy executemany", ROWS, asyncmy_executemany)


async def peers_create(
    b: Bench, data: list[dict[str, Any]], fresh: Callable[[], Awaitable[None]],
    instances: list[BenchHero],
) -> None:
    repository = advanced_alchemy_repository()
    if repository is None:
        return

    async def add_many() -> None:
        async with b.db.transaction() as session:
            await repository(session=session).add_many(instances[:PEER_ROWS])

    await b.case("Advanced Alchemy add_many", PEER_ROWS, add_many, fresh)


async def bench_update(b: Bench) -> None:
    ids: list[int] = []

    async def setup() -> None:
        ids[:] = await b.fill(ROWS)

    def changes(keys: list[int]) -> list[dict[str, Any]]:
        return [{"id": key, "age": (key % 70) + 1, "power_level": key * 0.5} for key in keys]

    async def seed() -> None:  # the seed's pattern: one UPDATE per row
        async with b.db.session() as session:
            for update in changes(ids[:SEED_ROWS]):
                key = update.pop("id")
                await session.exec(  # type: ignore[call-overload]
                    sa.update(BenchHero).where(BenchHero.id == key).values(**update)
                )
            await session.commit()

    async def ours() -> None:
        async with b.db.transaction() as session:
            await Repository(BenchHero, session).update_many(changes(ids))

    await b.case("seed: one UPDATE per row (S10)", SEED_ROWS, seed, setup)
    await b.case("ours update_many", ROWS, ours, setup)
    if b.backend == "postgresql":
        async def unnest() -> None:
            rows_ = changes(ids)
            connection = b.raw
            async with connection.transaction():
                await connection.execute(
                    "UPDATE bench_hero SET age = v.age, power_level = v.power_level "
                    "FROM unnest($1::int[], $2::int[], $3::float8[]) AS v(id, age, power_level) "
                    "WHERE bench_hero.id = v.id", *columns_of(rows_, ("id", "age", "power_level"))
                )

        await b.case("raw asyncpg UPDATE ... FROM unnest", ROWS, unnest, setup)
    elif b.backend == "sqlite":
        async def sqlite_executemany() -> None:
            connection = b.raw
            connection.execute("BEGIN")
            connection.executemany(
                "UPDATE bench_hero SET age = ?, power_level = ? WHERE id = ?",
                [(r["age"], r["power_level"], r["id"]) for r in changes(ids)],
            )
            connection.execute("COMMIT")

        await b.case("raw sqlite3 executemany UPDATE", ROWS, sqlite_executemany, setup)
    else:
        async def asyncmy_executemany() -> None:
            connection = b.raw
            async with connection.cursor() as cursor:
                await cursor.executemany(
                    "UPDATE bench_hero SET age = %s, power_level = %s WHERE id = %s",
                    [(r["age"], r["power_level"], r["id"]) for r in changes(ids)],
                )
            await connection.commit()

        await b.case("raw asyncmy executemany UPDATE (row by row)", ROWS, asyncmy_executemany,
                     setup)


async def bench_upsert(b: Bench) -> None:
    """Half the rows exist (by id), half are new; every row gives every column."""
    half = ROWS // 2
    data = [{"id": i + 1 + half, **row} for i, row in enumerate(rows(ROWS, half, tag="u"))]

    async def setup() -> None:
        await b.fill(ROWS)  # ids 1..ROWS: the first half of `data` exists

    async def ours() -> None:
        async with b.db.transaction() as session:
            await Repository(BenchHero, session).upsert_many(data, conflict=["id"])

    await b.case("ours upsert_many (half new, half existing)", ROWS, ours, setup)
    if b.backend == "postgresql":
        async def unnest() -> None:
            connection = b.raw
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO bench_hero (id, name, secret_name, age, power_level, team_id) "
                    "SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], "
                    "$5::float8[], $6::int[]) ON CONFLICT (id) DO UPDATE SET "
                    "name = excluded.name, secret_name = excluded.secret_name, "
                    "age = excluded.age, power_level = excluded.power_level, "
                    "team_id = excluded.team_id", *columns_of(data, FULL)
                )

        await b.case("raw asyncpg INSERT ... SELECT unnest ON CONFLICT", ROWS, unnest, setup)
    elif b.backend == "sqlite":
        async def sqlite_executemany() -> None:
            connection = b.raw
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT INTO bench_hero (id, name, secret_name, age, power_level, team_id) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "name = excluded.name, secret_name = excluded.secret_name, "
                "age = excluded.age, power_level = excluded.power_level, "
                "team_id = excluded.team_id", [tuple(r[c] for c in FULL) for r in data],
            )
            connection.execute("COMMIT")

        await b.case("raw sqlite3 executemany upsert", ROWS, sqlite_executemany, setup)
    else:
        async def asyncmy_executemany() -> None:
            connection = b.raw
            async with connection.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO bench_hero (id, name, secret_name, age, power_level, "
                    "team_id) VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                    "name = VALUES(name), secret_name = VALUES(secret_name), "
                    "age = VALUES(age), power_level = VALUES(power_level), "
                    "team_id = VALUES(team_id)", [tuple(r[c] for c in FULL) for r in data],
                )
            await connection.commit()

        await b.case("raw asyncmy executemany ON DUPLICATE KEY", ROWS, asyncmy_executemany,
                     setup)
    await peers_upsert(b, data, setup)


async def peers_upsert(
    b: Bench, data: list[dict[str, Any]], setup: Callable[[], Awaitable[None]]
) -> None:
    try:
        from fastcrud import FastCRUD
    except ImportError:
        print("  (FastCRUD not installed: pip install -e '.[bench]')")
    else:
        crud = FastCRUD(BenchHero)
        schemas = [BenchHeroRow(**row) for row in data[:PEER_ROWS]]

        async def fastcrud_upsert() -> None:
            async with b.db.transaction() as session:
                await crud.upsert_multi(session, schemas)

        await b.case("FastCRUD upsert_multi", len(schemas), fastcrud_upsert, setup)
    repository = advanced_alchemy_repository()
    if repository is not None:
        async def aa_upsert() -> None:
            instances = [BenchHero(**row) for row in data[:PEER_ROWS]]
            async with b.db.transaction() as session:
                await repository(session=session).upsert_many(instances)

        await b.case("Advanced Alchemy upsert_many", PEER_ROWS, aa_upsert, setup)


async def bench_delete(b: Bench) -> None:
    ids: list[int] = []

    async def setup() -> None:
        ids[:] = await b.fill(ROWS)

    async def seed() -> None:  # the seed's pattern: one unchunked IN list
        async with b.db.session() as session:
            await session.exec(  # type: ignore[call-overload]
                sa.delete(BenchHero).where(BenchHero.id.in_(ids))  # type: ignore[union-attr]
            )
            await session.commit()

    async def ours() -> None:
        async with b.db.transaction() as session:
            await Repository(BenchHero, session).delete_many(ids)

    await b.case("seed: DELETE ... IN (all ids) (S11)", ROWS, seed, setup)
    await b.case("ours delete_many", ROWS, ours, setup)
    if b.backend == "postgresql":
        async def any_array() -> None:
            connection = b.raw
            async with connection.transaction():
                await connection.execute("DELETE FROM bench_hero WHERE id = ANY($1::int[])", ids)

        await b.case("raw asyncpg DELETE ... = ANY($1)", ROWS, any_array, setup)


# --- raw drivers and peers ----------------------------------------------------------------


def columns_of(data: list[dict[str, Any]], names: tuple[str, ...]) -> list[list[Any]]:
    return [[row[name] for row in data] for name in names]


def advanced_alchemy_repository() -> Any:
    try:
        from advanced_alchemy.repository import SQLAlchemyAsyncRepository
    except ImportError:
        print("  (Advanced Alchemy not installed: pip install -e '.[bench]')")
        return None

    class HeroRepository(SQLAlchemyAsyncRepository[BenchHero]):  # type: ignore[type-var]
        model_type = BenchHero

    return HeroRepository


# --- memory -------------------------------------------------------------------------------


def memory_check(url: str) -> dict[str, Any]:
    """1M rows through create_many(returning=False) from a generator, in a fresh process:
    how far the peak RSS grows."""
    code = (
        "import asyncio, json, sys; from benchmarks.bulk import memory_probe; "
        f"print(json.dumps(asyncio.run(memory_probe({url!r}, {MEMORY_ROWS}))))"
    )
    root = Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def memory_probe(url: str, n: int) -> dict[str, Any]:
    db = Database(url, metadata=BenchBase.metadata)
    await db.create_all()
    bench = Bench(make_url(url).get_backend_name(), db)
    await bench.empty()

    def generated() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield {"name": f"m{i}", "secret_name": "s", "age": i % 80, "power_level": 1.0}

    # Warm up (imports, compiled statements, the first chunk's buffers), then measure how
    # far the peak grows while a million more rows stream through.
    async with db.transaction() as session:
        await Repository(BenchHero, session).create_many(rows(20_000, tag="w"), returning=False)
    await bench.empty()
    before = reset_peak_rss()
    start = time.perf_counter()
    async with db.transaction() as session:
        count = await Repository(BenchHero, session).create_many(generated(), returning=False)
    seconds = time.perf_counter() - start
    after = peak_rss()
    await bench.empty()
    await db.dispose()
    return {"rows": count, "seconds": round(seconds, 3), "rows_per_s": round(count / seconds),
            "peak_rss_before_mb": round(before / 1024, 1),
            "peak_rss_growth_mb": round((after - before) / 1024, 1)}


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> int:
    """The current RSS in KiB, with the peak reset to it (Linux: clear_refs 5). A child
    process inherits its parent's peak across exec, so ru_maxrss alone would hide growth."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return _status_kb("VmRSS") or 0


def peak_rss() -> int:
    """The peak RSS in KiB since reset_peak_rss()."""
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- the run ------------------------------------------------------------------------------


async def run_backend(backend: str, url: str) -> dict[str, Any]:
    db = Database(url, metadata=BenchBase.metadata)
    try:
        await db.drop_all()
        await db.create_all()
    except Exception as error:
        print(f"\n{backend}: not reachable ({type(error).__name__}), skipped")
        await db.dispose()
        return {"skipped": str(error)}
    bench = Bench(backend, db)
    await bench.open_raw()
    print(f"\n{backend} ({ROWS:,} rows, median of {RUNS})", flush=True)
    try:
        await bench_create(bench)
        await bench_update(bench)
        await bench_upsert(bench)
        await bench_delete(bench)
        await bench.empty()
    finally:
        await bench.close_raw()
        await db.dispose()
    print(f"  ratios ({backend}):")
    ratios = targets(bench)
    memory = None
    if backend == "postgresql":
        memory = memory_check(url)
        print(f"  memory: {MEMORY_ROWS:,} rows from a generator through "
              f"create_many(returning=False): {memory}")
    return {"cases": bench.results, "ratios": ratios, "memory": memory}


def targets(b: Bench) -> list[dict[str, Any]]:
    ours_copy = "ours create_many(mappings, returning=False)"
    if b.backend == "postgresql":
        copy = "raw asyncpg copy_records_to_table"
        upsert = "ours upsert_many (half new, half existing)"
        return [
            b.ratio("create_many(returning=False) / COPY", ours_copy, copy, 0.8),
            b.ratio("create_many(dicts, returning=False) / COPY of tuples built untimed",
                    ours_copy, COPY_PREBUILT, 0.8),
            b.ratio("create_many(instances, returning=True) / COPY",
                    "ours create_many(instances, returning=True)", copy, 0.4),
            b.ratio("create_many(mappings, returning=True) / seed",
                    "ours create_many(mappings, returning=True)",
                    "seed: add + commit + refresh each (S9)", 20),
            b.ratio("update_many / raw UPDATE FROM unnest", "ours update_many",
                    "raw asyncpg UPDATE ... FROM unnest", 0.8),
            b.ratio("upsert_many / raw INSERT SELECT unnest ON CONFLICT", upsert,
                    "raw asyncpg INSERT ... SELECT unnest ON CONFLICT", 0.8),
            b.ratio("upsert_many / FastCRUD upsert_multi", upsert, "FastCRUD upsert_multi", 2),
            b.ratio("upsert_many / Advanced Alchemy upsert_many", upsert,
                    "Advanced Alchemy upsert_many", 2),
        ]
    if b.backend == "sqlite":
        return [b.ratio("create_many(returning=False) / sqlite3 executemany", ours_copy,
                        "raw sqlite3 executemany (one transaction)", 0.7)]
    return [b.ratio("create_many(returning=False) / asyncmy executemany", ours_copy,
                    "raw asyncmy executemany", 0.5)]


async def main() -> None:
    chosen = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql,mariadb").split(",")
    load = os.getloadavg()
    print(f"bulk writes: {ROWS:,} rows per case; load average {load[0]:.2f} "
          f"(the machine may be shared: compare ratios, not absolute numbers)")
    report: dict[str, Any] = {"rows": ROWS, "runs": RUNS, "load_average_at_start": load}
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite+aiosqlite:///{folder}/bench.db", **URLS}
        for backend in chosen:
            report[backend] = await run_backend(backend, urls[backend])
    report["load_average_at_end"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
