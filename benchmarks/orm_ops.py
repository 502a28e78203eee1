"""Everyday ORM operations beside Tortoise ORM, Piccolo, plain SQLModel and raw asyncpg.

The eleven operations of Tortoise ORM's public orm-benchmarks suite, written for each side
the way that side documents them (see docs/benchmarks.md for what each side does):

    A insert single        B insert batch in one transaction    C bulk insert
    D filter large         E filter small (limit 20, random offset)
    F get by primary key   G filter as dicts                    H filter as tuples
    I update whole row     J update one field                    K delete

10 concurrent tasks; three tables (4 columns, with a foreign key, 36 columns); every side
in the same process, event loop, collector and run, each with a pool of 10 connections.
Reported: rows/s (median of --runs), the library / best of Tortoise and Piccolo per
operation, the geometric mean per table and backend, library / plain SQLModel, and for
update and delete by key (I, J, K) library / raw asyncpg on PostgreSQL.

    python -m benchmarks orm_ops        # env: BENCH_BACKENDS, BENCH_ORM_ROWS, BENCH_ORM_RUNS
    python -m benchmarks.orm_ops --rows 1000              # the suite's own full size
    python -m benchmarks.orm_ops --backend postgresql --rows 100 --runs 1   # a quick look
    python -m benchmarks.orm_ops --shapes 1 --sides library,tortoise

Databases: BENCH_POSTGRESQL_URL / BENCH_MARIADB_URL (default TEST_*_URL, then `test`);
SQLite in a temporary folder, one file per side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ._orm_ops_baselines import PlainSQLModel, RawAsyncpg
from ._orm_ops_models import SHAPES
from ._orm_ops_sides import Clock, Library, Side, Target, Work

RESULTS = Path(__file__).parent / "results" / "orm_ops.json"
OPS = {
    "A": "insert single", "B": "insert batch (one transaction)", "C": "bulk insert",
    "D": "filter large", "E": "filter small (limit 20, offset)", "F": "get by key",
    "G": "filter as dicts", "H": "filter as tuples", "I": "update whole row",
    "J": "update one field", "K": "delete",
}
#: The library only: schema reads (what an endpoint returns), outside the ratios.
EXTRA = {"D*": "filter large as schemas (db.reader())", "F*": "get by key as schema (db.reader())"}
#: The order they run in: the schema reads before I, J and K change and delete the rows.
SEQUENCE = ("A", "B", "C", "D", "E", "F", "G", "H", "D*", "F*", "I", "J", "K")
PEERS = ("tortoise", "piccolo")
#: An operation still running after this long is cancelled and reported as an error.
OPERATION_TIMEOUT = float(os.environ.get("BENCH_ORM_TIMEOUT", 300))
SIDE_ORDER = ("library", "tortoise", "piccolo", "sqlmodel", "asyncpg")
BACKENDS = ("postgresql", "mariadb", "sqlite")
URLS = {
    "postgresql": os.environ.get("BENCH_POSTGRESQL_URL")
    or os.environ.get("TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("BENCH_MARIADB_URL")
    or os.environ.get("TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/test"),
}
#: The targets: geometric mean and worst operation against the best peer, and the
#: floors against plain SQLModel and raw asyncpg.
TARGETS = {"geomean_vs_best_peer": 1.0, "min_vs_best_peer": 0.5, "min_vs_sqlmodel": 1.0,
           "vs_raw": 0.5, "c_vs_raw": 1 / 1.5}


def all_sides() -> list[Side]:
    """Every side whose package is installed (Tortoise and Piccolo: the `bench` extra)."""
    sides: list[Side] = [Library()]
    try:
        from ._orm_ops_peers import TortoiseSide

        sides.append(TortoiseSide())
    except ImportError as error:
        print(f"Tortoise ORM left out: {error} (pip install -e '.[bench]')")
    try:
        import piccolo  # noqa: F401

        from ._orm_ops_peers import PiccoloSide

        sides.append(PiccoloSide())
    except ImportError as error:
        print(f"Piccolo left out: {error} (pip install -e '.[bench]')")
    sides += [PlainSQLModel(), RawAsyncpg()]
    return sides


async def empty(target: Target, side: Side, shape: int) -> None:
    """Empty one side's table and restart its keys at 1 (F reads keys 1..rows-1)."""
    table = side.table(shape)
    if target.sqlite_dir is not None:
        with sqlite3.connect(target.sqlite_file(side.key)) as connection:
            connection.execute(f"DELETE FROM {table}")
            # no sqlite_sequence in a file without an AUTOINCREMENT table
            with contextlib.suppress(sqlite3.OperationalError):
                connection.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        return
    engine = _ADMIN.get(target.url)
    if engine is None:  # one connection per server, kept for the whole run
        engine = _ADMIN[target.url] = create_async_engine(
            target.url, pool_size=1, max_overflow=0
        )
    async with engine.begin() as connection:
        if target.backend == "postgresql":
            await connection.exec_driver_sql(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
        else:  # TRUNCATE refuses a table that a foreign key (its own) points at
            await connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            await connection.exec_driver_sql(f"TRUNCATE TABLE {table}")
            await connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


_ADMIN: dict[str, AsyncEngine] = {}


async def close_admin() -> None:
    for engine in _ADMIN.values():
        await engine.dispose()
    _ADMIN.clear()


async def one_run(side: Side, target: Target, shape: int, work: Work) -> dict[str, Any]:
    """Every operation of `side` once, in order, on an emptied table: op -> rows/s or error."""
    await empty(target, side, shape)
    side.use(shape)
    if "A" not in side.ops:
        await side.fill(work)
    measured: dict[str, Any] = {}
    for op in SEQUENCE:
        if op not in side.ops:
            continue
        method = getattr(side, op.lower().replace("*", "_schema"))
        clock = Clock()
        gc.collect()
        try:
            rows = await asyncio.wait_for(method(work, clock), OPERATION_TIMEOUT)
        except Exception as error:  # one failing operation must not end the run
            measured[op] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
            continue
        measured[op] = rows / clock.seconds if clock.seconds > 0 else 0.0
    return measured


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def ratios(sides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The library against the best peer, plain SQLModel and raw asyncpg, per operation."""

    def rate(side: str, op: str) -> float | None:
        value = sides.get(side, {}).get(op, {}).get("rows_per_s")
        return value if isinstance(value, float) and value > 0 else None

    per_op: dict[str, dict[str, Any]] = {}
    failed = []
    for op in OPS:
        ours = rate("library", op)
        if ours is None:
            if op in sides.get("library", {}):
                failed.append(op)  # an error: no ratio, and the targets are not met
            continue
        entry: dict[str, Any] = {}
        peers = {peer: r for peer in PEERS if (r := rate(peer, op)) is not None}
        if peers:
            best = max(peers, key=lambda peer: peers[peer])
            entry.update(best_peer=best, vs_best_peer=ours / peers[best])
        if (plain := rate("sqlmodel", op)) is not None:
            entry["vs_sqlmodel"] = ours / plain
        if (raw := rate("asyncpg", op)) is not None:
            entry["vs_raw"] = ours / raw
        per_op[op] = entry
    summary: dict[str, Any] = {"per_op": per_op, "failed": failed}
    for key in ("vs_best_peer", "vs_sqlmodel"):
        found = [e[key] for e in per_op.values() if key in e]
        if found:
            summary[f"geomean_{key}"] = geomean(found)
            summary[f"min_{key}"] = min(found)
    return summary


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for backend, shapes in report["ratios"].items():
        for shape, summary in shapes.items():
            where = f"{backend}, {SHAPES[int(shape)]}"
            failed = summary.get("failed") or []
            for key in ("geomean_vs_best_peer", "min_vs_best_peer"):
                if key in summary:
                    checks.append(_check(f"{where}: {key.replace('_', ' ')}", summary[key], key,
                                         failed))
            if "min_vs_sqlmodel" in summary:
                checks.append(_check(f"{where}: min vs SQLModel", summary["min_vs_sqlmodel"],
                                     "min_vs_sqlmodel", failed))
            for op in ("I", "J", "K"):
                raw = summary["per_op"].get(op, {}).get("vs_raw")
                if raw is not None:
                    checks.append(_check(f"{where}: {op} vs raw asyncpg", raw, "vs_raw"))
            raw = summary["per_op"].get("C", {}).get("vs_raw")
            if raw is not None:  # a small create_many within 1.5x of one multi-row INSERT
                rows = report["rows"] // report["concurrency"]
                checks.append(_check(f"{where}: C create_many of {rows} rows vs raw multi-row "
                                     "INSERT", raw, "c_vs_raw"))
    return checks


def _check(label: str, measured: float, key: str, failed: Sequence[str] = ()) -> dict[str, Any]:
    """One target; not met either when an operation of the library failed (`failed`)."""
    if failed:
        label += f" (without {', '.join(failed)}: failed)"
    return {"label": label, "measured": measured, "target": TARGETS[key],
            "met": measured >= TARGETS[key] and not failed}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


async def run(backends: list[str], shapes: list[int], work: Work, runs: int,
              only: set[str] | None) -> dict[str, Any]:
    logging.disable(logging.INFO)  # no side logs its queries
    report: dict[str, Any] = {
        "rows": work.rows, "runs": runs, "concurrency": work.concurrency,
        "loadavg": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                             time.gmtime()),
        "versions": {name: _version(name) for name in (
            "sqlmodel-async", "sqlmodel", "sqlalchemy", "tortoise-orm", "piccolo", "asyncpg",
            "asyncmy", "aiosqlite")},
        "ops": {**OPS, **EXTRA}, "shapes": {str(s): SHAPES[s] for s in shapes},
        "sides": {}, "paths": {}, "results": {}, "ratios": {}, "notes": [
            "Piccolo does not support MySQL/MariaDB: no Piccolo column there.",
            "raw asyncpg runs C, I, J and K on PostgreSQL only (rows for I, J, K inserted "
            "untimed).",
        ],
    }
    with tempfile.TemporaryDirectory(prefix="orm_ops_") as folder:
        for backend in backends:
            began = time.perf_counter()
            target = (Target(backend, sqlite_dir=Path(folder)) if backend == "sqlite"
                      else Target(backend, url=URLS[backend]))
            sides = [s for s in all_sides() if backend in s.backends
                     and (only is None or s.key in only)]
            started: list[Side] = []
            try:
                for side in sides:
                    try:
                        await side.start(target)
                        started.append(side)
                    except Exception as error:
                        print(f"{backend}: {side.label} left out: {type(error).__name__}: "
                              f"{error}")
                await _measure(report, target, started, shapes, work, runs)
            finally:
                for side in started:
                    await side.stop()
                await close_admin()
            print(f"{backend}: {time.perf_counter() - began:.0f} s", flush=True)
    report["targets"] = targets(report)
    return report


async def _measure(report: dict[str, Any], target: Target, sides: list[Side],
                   shapes: list[int], work: Work, runs: int) -> None:
    backend = target.backend
    report["results"][backend] = {}
    report["ratios"][backend] = {}
    for side in sides:
        report["sides"][side.key] = side.label
    for shape in shapes:
        measured: dict[str, dict[str, list[Any]]] = {side.key: {} for side in sides}
        for number in range(runs):
            # a different order each run: no side always runs right after another
            for side in sides[number % len(sides):] + sides[: number % len(sides)]:
                for op, value in (await one_run(side, target, shape, work)).items():
                    measured[side.key].setdefault(op, []).append(value)
        results: dict[str, dict[str, Any]] = {}
        for side in sides:
            results[side.key] = {}
            for op, values in measured[side.key].items():
                rates = [v for v in values if isinstance(v, float)]
                errors = [v for v in values if isinstance(v, str)]
                entry: dict[str, Any] = {"runs": [round(v, 1) for v in rates]}
                if rates:
                    entry["rows_per_s"] = statistics.median(rates)
                if errors:
                    entry["error"] = errors[0]
                results[side.key][op] = entry
            if side.paths:
                report["paths"].update(side.paths)
        report["results"][backend][str(shape)] = results
        report["ratios"][backend][str(shape)] = ratios(results)
        print(table(report, backend, str(shape)), flush=True)


def table(report: dict[str, Any], backend: str, shape: str) -> str:
    """One backend and table as Markdown: rows/s per side, then the ratios."""
    results = report["results"][backend][shape]
    summary = report["ratios"][backend][shape]
    sides = [key for key in SIDE_ORDER if key in results]
    labels = [report["sides"][key] for key in sides]
    lines = [
        f"**{backend}, {SHAPES[int(shape)]}** (rows/s, median of {report['runs']})",
        "",
        "| operation | " + " | ".join(labels) + " | ours / best peer | ours / SQLModel |",
        "|---|" + "---:|" * (len(sides) + 2),
    ]
    for op, name in {**OPS, **EXTRA}.items():
        cells = []
        for key in sides:
            entry = results[key].get(op)
            if entry is None:
                cells.append("")
            elif "rows_per_s" in entry:
                cells.append(f"{entry['rows_per_s']:,.0f}")
            else:
                cells.append("error")
        if not any(cells):
            continue
        ratio = summary["per_op"].get(op, {})
        best = f"{ratio['vs_best_peer']:.2f}" if "vs_best_peer" in ratio else ""
        plain = f"{ratio['vs_sqlmodel']:.2f}" if "vs_sqlmodel" in ratio else ""
        lines.append(f"| {op} {name} | " + " | ".join(cells) + f" | {best} | {plain} |")
    mean_peer = summary.get("geomean_vs_best_peer")
    mean_plain = summary.get("geomean_vs_sqlmodel")
    failed = summary.get("failed") or []
    without = f", without {', '.join(failed)} (failed)" if failed else ""
    lines.append(
        f"| geometric mean (A-K{without}) | " + " | ".join("" for _ in sides)
        + f" | {'' if mean_peer is None else f'{mean_peer:.2f}'}"
        + f" | {'' if mean_plain is None else f'{mean_plain:.2f}'} |"
    )
    errors = [f"{report['sides'][key]} {op}: {entry['error']}" for key in sides
              for op, entry in results[key].items() if "error" in entry]
    if errors:
        lines += ["", "Errors: " + "; ".join(errors)]
    return "\n".join(lines)


def summary_table(report: dict[str, Any]) -> str:
    """Per backend and table: the ratios the targets are about."""
    lines = [
        "| backend | table | ours / best peer (geomean) | worst operation | "
        "ours / SQLModel (geomean) | worst vs SQLModel | ours / raw asyncpg |",
        "|---|---|---:|---|---:|---|---|",
    ]
    for backend, shapes in report.get("ratios", {}).items():
        for shape, summary in shapes.items():
            per_op = summary["per_op"]

            def worst(key: str, ops: dict[str, Any] = per_op) -> str:
                found = {op: e[key] for op, e in ops.items() if key in e}
                if not found:
                    return ""
                op = min(found, key=lambda o: found[o])
                return f"{op} {found[op]:.2f}"

            def mean(key: str, summary: dict[str, Any] = summary) -> str:
                value = summary.get(key)
                failed = summary.get("failed") or []
                note = f" ({', '.join(failed)} failed)" if failed else ""
                return "" if value is None else f"{value:.2f}{note}"

            raw = ", ".join(f"{op} {per_op[op]['vs_raw']:.2f}" for op in ("C", "I", "J", "K")
                            if "vs_raw" in per_op.get(op, {}))
            lines.append(
                f"| {backend} | {SHAPES[int(shape)]} | {mean('geomean_vs_best_peer')} "
                f"| {worst('vs_best_peer')} | {mean('geomean_vs_sqlmodel')} "
                f"| {worst('vs_sqlmodel')} | {raw} |"
            )
    return "\n".join(lines)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.orm_ops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", action="append", choices=BACKENDS,
                        help="repeat for several (default: BENCH_BACKENDS or all three)")
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ORM_ROWS", 200)),
                        help="rows each of A, B and C inserts (the suite's ITERATIONS)")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_ORM_RUNS", 3)))
    parser.add_argument("--shapes", default="1,2,3", help="tables: 1, 2, 3 (comma-separated)")
    parser.add_argument("--sides", default=None,
                        help="library,tortoise,piccolo,sqlmodel,asyncpg (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv if argv is not None else [])
    backends = args.backend or [
        b for b in os.environ.get("BENCH_BACKENDS", ",".join(BACKENDS)).split(",") if b
    ]
    shapes = [int(s) for s in args.shapes.split(",")]
    only = set(args.sides.split(",")) | {"library"} if args.sides else None
    work = Work(rows=max(args.rows, 40))
    report = asyncio.run(run(backends, shapes, work, args.runs, only))
    for check in report["targets"]:
        verdict = "met" if check["met"] else "NOT MET"
        print(f"{check['label']}: {check['measured']:.2f} "
              f"(target {check['target']:.2f}): {verdict}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1, default=str))
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
