"""GET /heroes/export over HTTP against a hand-written asyncpg server-side cursor, on
PostgreSQL with BENCH_ROWS heroes (default 500,000): rows/s over the whole export and the
server process's memory growth.

Each case gets its own uvicorn server (one worker, benchmarks/http.py's start()) on a free
loopback port; curl, in another process, downloads the whole stream to a file (its own
`time_total` is the time). While it runs, the server's VmRSS is sampled from /proc; its
VmHWM is reset first (clear_refs 5), so the growth is the peak during the exports minus
the RSS before the first one. Cases:

- service ndjson / csv: the Heroes service's `GET /heroes/export?format=...`;
- raw asyncpg, 1 line per yield: a Starlette StreamingResponse over `conn.cursor(...,
  prefetch=1000)` in a transaction, yielding one `json.dumps(dict(row)) + "\\n"` per row;
- raw asyncpg, 1000 lines per yield: the same cursor, lines joined 1000 at a time (fewer
  socket writes: the stronger baseline).

Every output is checked: BENCH_ROWS lines (plus the CSV header) and the same first and last
rows as the service's NDJSON. Median of BENCH_RUNS runs (default 3) per case.

    python -m benchmarks export_http
    BENCH_ROWS=50000 BENCH_RUNS=1 python -m benchmarks.export_http   # quicker

Database: `<name>_export_http` on the server of BENCH_POSTGRESQL_URL (default:
TEST_POSTGRESQL_URL, then `test`), dropped and made anew by the service's migrations each
run. Results: printed, and written to benchmarks/results/export_http.json.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import asyncpg
import heroes.models  # noqa: F401  (the service's tables on SQLModel.metadata)
from heroes.migrations.runner import upgrade
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from benchmarks import http
from sqlmodel_async import Database

RESULTS = Path(__file__).parent / "results"
TEAMS = 100
#: The columns the service exports, in its order (HeroPublic's fields).
COLUMNS = ("name", "secret_name", "age", "team_id", "power_level", "id")
#: Servers started by http.start(); the raw app runs from this module.
APPS = {
    "service": http.APPS["service"],
    "raw": ["benchmarks.export_http:raw_export_app", "--factory"],
}
#: case -> (app, path)
CASES = {
    "service ndjson": ("service", "/heroes/export?format=ndjson"),
    "service csv": ("service", "/heroes/export?format=csv"),
    "raw asyncpg, 1 line per yield": ("raw", "/heroes/export"),
    "raw asyncpg, 1000 lines per yield": ("raw", "/heroes/export?lines=1000"),
}
BASELINES = ("raw asyncpg, 1 line per yield", "raw asyncpg, 1000 lines per yield")
#: The targets: service ndjson rows/s >= MIN_RATIO x the raw cursor's; growth <= MAX_GROWTH_MB.
MIN_RATIO = 0.5
MAX_GROWTH_MB = 100.0
#: Bound on one download (curl --max-time), so a stuck server cannot hang the run.
MAX_SECONDS = 600


# --- the hand-written baseline ----------------------------------------------------------


def raw_export_app() -> Starlette:
    """asyncpg pool + server-side cursor + json.dumps, in a bare Starlette app.
    `uvicorn benchmarks.export_http:raw_export_app --factory` (reads BENCH_DATABASE_URL)."""
    dsn = os.environ["BENCH_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pool: asyncpg.Pool | None = None  # type: ignore[type-arg]
    select = f"SELECT {', '.join(COLUMNS)} FROM hero ORDER BY id"

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        yield
        await pool.close()

    async def export(request: Request) -> Response:
        lines = int(request.query_params.get("lines", 1))

        async def body() -> AsyncIterator[str]:
            assert pool is not None
            async with pool.acquire() as connection, connection.transaction():
                cursor = connection.cursor(select, prefetch=1000)
                if lines == 1:
                    async for record in cursor:
                        yield json.dumps(dict(record)) + "\n"
                    return
                buffer: list[str] = []
                async for record in cursor:
                    buffer.append(json.dumps(dict(record)) + "\n")
                    if len(buffer) == lines:
                        yield "".join(buffer)
                        buffer.clear()
                if buffer:
                    yield "".join(buffer)

        return StreamingResponse(body(), media_type="application/x-ndjson")

    async def read_hero(request: Request) -> Response:
        # http.start() waits for GET /heroes/1 to answer.
        assert pool is not None
        row = await pool.fetchrow(
            f"SELECT {', '.join(COLUMNS)} FROM hero WHERE id = $1",
            int(request.path_params["hero_id"]),
        )
        return JSONResponse(dict(row) if row else {"detail": "Hero not found"},
                            status_code=200 if row else 404)

    return Starlette(
        routes=[
            Route("/heroes/export", export, methods=["GET"]),
            Route("/heroes/{hero_id:int}", read_hero, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


# --- data ---------------------------------------------------------------------------------


def database_url() -> str:
    base = make_url(http.database_url())  # <name>_http: this benchmark's is <name>_export_http
    name = base.database.removesuffix("_http")  # type: ignore[union-attr]
    url: str = base.set(database=f"{name}_export_http").render_as_string(hide_password=False)
    return url


async def seed_data(url: str, rows: int) -> None:
    """A fresh database at the service's head revision, TEAMS teams and `rows` heroes
    (COPY: the load is not what is measured)."""
    await http.create_database(url)  # drops and creates; it only accepts a *_http name
    database = Database(url, metadata=SQLModel.metadata)
    await upgrade(database)
    await database.dispose()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.copy_records_to_table(
            "team", columns=["name", "headquarters"],
            records=[(f"Team {n}", f"Tower {n}") for n in range(1, TEAMS + 1)],
        )
        await connection.copy_records_to_table(
            "hero", columns=["name", "secret_name", "age", "team_id", "power_level"],
            records=(
                (f"Hero {n}", f'Secret "{n}", Jr.', 18 + n % 60 if n % 7 else None,
                 None if n % 10 == 0 else 1 + n % TEAMS, float(n % 1000) / 10 + 0.5)
                for n in range(1, rows + 1)
            ),
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


# --- one server, its memory, one download -------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux: clear_refs 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def download(port: int, path: str, output: Path, pid: int) -> dict[str, Any]:
    """curl the whole body into `output`, sampling the server's RSS every 20 ms."""
    curl = subprocess.Popen(
        ["curl", "-sS", "--fail", "--max-time", str(MAX_SECONDS), "-o", str(output),
         "-w", "%{time_total} %{size_download}", f"http://127.0.0.1:{port}{path}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    peak_sampled = 0
    while curl.poll() is None:
        peak_sampled = max(peak_sampled, _status_kb(pid, "VmRSS"))
        time.sleep(0.02)
    out, err = curl.communicate()
    if curl.returncode != 0:
        raise RuntimeError(f"curl {path}: exit {curl.returncode}: {err.strip()}")
    seconds, size = out.split()
    return {"seconds": float(seconds), "bytes": int(size),
            "peak_rss_kb": max(peak_sampled, _status_kb(pid, "VmHWM"))}


def lines_of(path: Path) -> tuple[int, str, str, str]:
    """(line count, first, second, last line) without holding the file in memory."""
    count, first, second, last = 0, "", "", ""
    with path.open(encoding="utf-8") as file:
        for count, line in enumerate(file, 1):
            if count == 1:
                first = line
            elif count == 2:
                second = line
            last = line
    return count, first.rstrip("\n"), second.rstrip("\n"), last.rstrip("\n")


def check(case: str, output: Path, rows: int) -> dict[str, Any]:
    """The output's line count and its first and last rows, as dicts (CSV values as text)."""
    count, first, second, last = lines_of(output)
    if case.endswith("csv"):
        header, first_row, last_row = (next(csv.reader([line])) for line in (first, second, last))
        return {"rows": count - 1, "header": header,
                "first": dict(zip(header, first_row, strict=True)),
                "last": dict(zip(header, last_row, strict=True))}
    return {"rows": count, "first": json.loads(first), "last": json.loads(last)}


def _as_text(row: dict[str, Any]) -> dict[str, str]:
    return {key: "" if value is None else str(value) for key, value in row.items()}


def same_rows(checks: dict[str, dict[str, Any]], rows: int) -> dict[str, bool]:
    reference = checks["service ndjson"]
    verdict = {}
    for case, found in checks.items():
        ends = [found["first"], found["last"]]
        expected = [reference["first"], reference["last"]]
        if case.endswith("csv"):
            expected = [_as_text(row) for row in expected]
        verdict[case] = found["rows"] == rows and ends == expected
    return verdict


def run_case(case: str, url: str, rows: int, runs: int, workdir: Path) -> dict[str, Any]:
    """A fresh server for the case, `runs` downloads; growth = peak over all runs minus the
    RSS before the first."""
    app, path = CASES[case]
    with mock.patch.dict(http.APPS, APPS):  # http.start() looks the command up there
        process, port = http.start(app, url, pool_size=10)
    try:
        time.sleep(0.5)  # let start-up work settle before the baseline RSS
        before_kb = _status_kb(process.pid, "VmRSS")
        hwm_reset = reset_peak(process.pid)
        measured = []
        output = workdir / f"{case.replace(' ', '_').replace(',', '')}.out"
        for _ in range(runs):
            measured.append(download(port, path, output, process.pid))
        result_check = check(case, output, rows)
    finally:
        http.stop(process)
    seconds = statistics.median(m["seconds"] for m in measured)
    peak_kb = max(m["peak_rss_kb"] for m in measured)
    return {
        "rows_per_s": rows / seconds,
        "seconds_median": seconds,
        "seconds": [m["seconds"] for m in measured],
        "bytes": measured[-1]["bytes"],
        "rss_before_mb": before_kb / 1024,
        "rss_peak_mb": peak_kb / 1024,
        "memory_growth_mb": (peak_kb - before_kb) / 1024,
        "hwm_reset": hwm_reset,
        "check": result_check,
    }


# --- the run ----------------------------------------------------------------------------


def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "500000"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    url = database_url()
    started = time.perf_counter()
    asyncio.run(seed_data(url, rows))
    load_before = os.getloadavg()
    print(f"{rows:,} heroes loaded in {time.perf_counter() - started:.1f} s "
          f"(database {make_url(url).database}); {runs} run(s) per case; "
          f"load average {load_before[0]:.2f}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="export_http_") as workdir:
        for case in CASES:
            results[case] = measured = run_case(case, url, rows, runs, Path(workdir))
            print(f"{case:34} {measured['rows_per_s']:10,.0f} rows/s  "
                  f"{measured['bytes'] / 2**20:6.1f} MB body  server RSS "
                  f"{measured['rss_before_mb']:6.1f} -> {measured['rss_peak_mb']:6.1f} MB "
                  f"(+{measured['memory_growth_mb']:.1f})", flush=True)
    checks = same_rows({case: r["check"] for case, r in results.items()}, rows)
    for case, ok in checks.items():
        results[case]["output_ok"] = ok
    targets = report(results, checks, rows)
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f}")
    RESULTS.mkdir(exist_ok=True)
    for measured in results.values():
        measured.pop("check")
    (RESULTS / "export_http.json").write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "rows": rows, "runs": runs, "results": results, "targets": targets,
    }, indent=2) + "\n")
    print(f"written to {RESULTS / 'export_http.json'}")


def report(results: dict[str, dict[str, Any]], checks: dict[str, bool],
           rows: int) -> list[dict[str, Any]]:
    service = results["service ndjson"]
    print(f"\noutputs: {rows:,} rows each, first and last rows equal to the service's "
          "ndjson: " + ", ".join(f"{case} {'ok' if ok else 'MISMATCH'}"
                                 for case, ok in checks.items()))
    print(f"targets (issue 4; service ndjson {service['rows_per_s']:,.0f} rows/s):")
    targets: list[dict[str, Any]] = []
    for baseline in BASELINES:
        ratio = service["rows_per_s"] / results[baseline]["rows_per_s"]
        targets.append({"target": f"rows/s service ndjson / {baseline}", "minimum": MIN_RATIO,
                        "ratio": round(ratio, 2), "met": ratio >= MIN_RATIO})
        print(f"  rows/s vs {baseline:34} {ratio:5.2f}x (>= {MIN_RATIO}x): "
              f"{'met' if ratio >= MIN_RATIO else 'NOT MET'}")
    for case in ("service ndjson", "service csv"):
        growth = results[case]["memory_growth_mb"]
        targets.append({"target": f"server memory growth, {case}", "maximum_mb": MAX_GROWTH_MB,
                        "growth_mb": round(growth, 1), "met": growth <= MAX_GROWTH_MB})
        print(f"  server memory growth, {case:21} {growth:6.1f} MB (<= {MAX_GROWTH_MB:.0f} MB):"
              f" {'met' if growth <= MAX_GROWTH_MB else 'NOT MET'}")
    return targets


if __name__ == "__main__":
    main()
