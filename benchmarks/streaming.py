"""stream() against SQLAlchemy's own streaming, PostgreSQL and MariaDB: rows/s and peak
memory growth over the whole table.

Each measurement runs in a fresh process, so its peak RSS (ru_maxrss) minus the RSS before
the walk is that walk's memory growth. Medians of `--runs` runs (default 3).

    python -m benchmarks.streaming            # 500,000 rows
    python -m benchmarks.streaming --quick    # 50,000 rows (or BENCH_ROWS=...)

Uses the same table as benchmarks/pagination.py (bench_page_hero, filled if needed).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from benchmarks.pagination import RESULTS, BenchBase, BenchHero, backend_urls, prepare, row_count
from sqlmodel_async import Database, Repository
from sqlmodel_async.streaming import encode_ndjson

#: The seed's OFFSET loop is O(n^2): it walks at most this many rows.
SEED_ROWS = 50_000


async def ours(session: AsyncSession, _rows: int) -> AsyncIterator[Any]:
    async for hero in Repository(BenchHero, session).stream(batch_size=1000):
        yield hero


async def ours_rows(session: AsyncSession, _rows: int) -> AsyncIterator[Any]:
    async for row in Repository(BenchHero, session).stream_rows(batch_size=1000):
        yield row


async def sqlalchemy_stream_scalars(session: AsyncSession, _rows: int) -> AsyncIterator[Any]:
    statement = select(BenchHero).order_by(BenchHero.id).execution_options(yield_per=1000)
    async for hero in await session.stream_scalars(statement):
        yield hero


async def seed_offset_loop(session: AsyncSession, rows: int) -> AsyncIterator[Any]:
    """The seed's streaming loop (OFFSET batches, no ORDER BY), batch 100 as in the seed."""
    offset = 0
    while offset < min(rows, SEED_ROWS):
        batch = (await session.exec(select(BenchHero).offset(offset).limit(100))).all()
        if not batch:
            break
        for hero in batch:
            yield hero
        offset += 100


async def ours_ndjson(session: AsyncSession, _rows: int) -> AsyncIterator[Any]:
    """What GET /heroes/export?format=ndjson sends: stream_rows() through encode_ndjson()."""
    async for chunk in encode_ndjson(Repository(BenchHero, session).stream_rows(batch_size=1000)):
        yield chunk


async def raw_asyncpg_ndjson(session: AsyncSession, _rows: int) -> AsyncIterator[Any]:
    """The hand-written baseline: an asyncpg server-side cursor, one json.dumps per row."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    columns = ", ".join(column.name for column in BenchHero.__table__.columns)  # type: ignore[attr-defined]
    buffer: list[str] = []
    async for record in raw.cursor(
        f"SELECT {columns} FROM bench_page_hero ORDER BY id", prefetch=1000
    ):
        buffer.append(json.dumps(dict(record)) + "\n")
        if len(buffer) == 1000:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()


METHODS: dict[str, Callable[[AsyncSession, int], AsyncIterator[Any]]] = {
    "stream() instances": ours,
    "stream_rows() dicts": ours_rows,
    "SQLAlchemy stream_scalars(yield_per=1000)": sqlalchemy_stream_scalars,
    f"seed OFFSET loop (first {SEED_ROWS:,} rows)": seed_offset_loop,
    "export: stream_rows() -> encode_ndjson()": ours_ndjson,
    "export: raw asyncpg cursor + json.dumps": raw_asyncpg_ndjson,
}
#: Methods that yield encoded chunks (rows = lines), and those that need asyncpg.
CHUNKED = {"export: stream_rows() -> encode_ndjson()", "export: raw asyncpg cursor + json.dumps"}
POSTGRESQL_ONLY = {"export: raw asyncpg cursor + json.dumps"}


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def measure(url: str, method: str, rows: int) -> dict[str, Any]:
    """One walk, in this (fresh) process."""
    db = Database(url, metadata=BenchBase.metadata)
    try:
        async with db.session() as session:
            await session.exec(select(BenchHero).limit(1))  # connect, warm the mapper
            before = _rss()
            count = 0
            start = time.perf_counter()
            chunked = method in CHUNKED
            async for item in METHODS[method](session, rows):
                count += item.count(b"\n") if chunked else 1
            elapsed = time.perf_counter() - start
    finally:
        await db.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"rows": count, "seconds": elapsed, "memory_growth_mb": (peak - before) / 2**20}


def run_child(url: str, method: str, rows: int) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.streaming", "--child", url, method, str(rows)],
        capture_output=True, text=True, check=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    if "--child" in sys.argv:
        url, method, rows = sys.argv[sys.argv.index("--child") + 1 :][:3]
        print(json.dumps(asyncio.run(measure(url, method, int(rows)))))
        return
    rows = row_count()
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    results = []
    for backend, url in backend_urls().items():

        async def fill(url: str = url) -> None:
            db = Database(url, metadata=BenchBase.metadata)
            try:
                await prepare(db, rows)
            finally:
                await db.dispose()

        asyncio.run(fill())
        for method in METHODS:
            if method in POSTGRESQL_ONLY and backend != "postgresql":
                continue
            samples = [run_child(url, method, rows) for _ in range(runs)]
            rates = [s["rows"] / s["seconds"] for s in samples]
            results.append(
                {
                    "backend": backend,
                    "method": method,
                    "rows": samples[0]["rows"],
                    "rows_per_s": statistics.median(rates),
                    "memory_growth_mb": max(s["memory_growth_mb"] for s in samples),
                    "runs": samples,
                }
            )
            print(f"  {backend} {method}: {results[-1]['rows_per_s']:,.0f} rows/s", flush=True)
    report(results)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "streaming.json"
    out.write_text(
        json.dumps(
            {"machine": platform.platform(), "cpus": os.cpu_count(), "table_rows": rows,
             "results": results},
            indent=2,
        )
    )
    print(f"wrote {out}")


def report(results: list[dict[str, Any]]) -> None:
    print(
        f"\n{'backend':<11} {'method':<44} {'rows':>8} {'rows/s':>10} {'ratio':>6} "
        f"{'peak +MB':>9}"
    )
    for r in results:
        # Exports compare with the raw-driver export, the rest with SQLAlchemy's streaming.
        baseline = "export: raw" if r["method"].startswith("export") else "SQLAlchemy"
        base = next(
            (x["rows_per_s"] for x in results
             if x["backend"] == r["backend"] and x["method"].startswith(baseline)),
            None,
        )
        ratio = f"{r['rows_per_s'] / base:>5.2f}x" if base else f"{'-':>6}"
        print(
            f"{r['backend']:<11} {r['method']:<44} {r['rows']:>8} {r['rows_per_s']:>10,.0f} "
            f"{ratio} {r['memory_growth_mb']:>9.1f}"
        )
    print(
        "(ratio: against SQLAlchemy stream_scalars, or for exports against the raw asyncpg "
        "export; median of runs, each in a fresh process; peak +MB = peak RSS growth. "
        "Shared 2-core machine with other engineers' jobs running: absolute rates drift, "
        "ratios hold.)"
    )


if __name__ == "__main__":
    main()
