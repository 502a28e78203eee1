"""`make bench`, last step: the chart (docs/benchmarks.png) and the tables of docs/benchmarks.md,
from the JSON the benchmarks wrote in benchmarks/results/.

Run it alone to redraw from the last results: `python -m benchmarks.chart`. A benchmark
with no results file here (it has not run on this machine) keeps the table the page has
from its last run, and the chart of several benchmarks is then left as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CHART = ROOT / "docs" / "benchmarks.png"
PAGE = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- tables:start -->", "<!-- tables:end -->"

#: One bar: (panel title, bar label, value).
Bar = tuple[str, str, float]


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# --- the JSON of each benchmark, as bars and as a Markdown table --------------------------


def bulk_bars(data: dict[str, Any]) -> list[Bar]:
    bars = []
    for backend, report in data.items():
        if not isinstance(report, dict) or "cases" not in report:
            continue
        for label, case in report["cases"].items():
            if "rows_per_s" in case:
                bars.append((f"bulk writes, {backend} (rows/s)", label, case["rows_per_s"]))
    return bars


def bulk_table(data: dict[str, Any]) -> str:
    lines = [f"### Bulk writes ({data.get('rows', '?')} rows, median of {data.get('runs', '?')})"]
    for backend, report in data.items():
        if not isinstance(report, dict) or "cases" not in report:
            continue
        lines += ["", f"**{backend}**", "", "| case | rows | rows/s |", "|---|---:|---:|"]
        for label, case in report["cases"].items():
            rate = f"{case['rows_per_s']:,.0f}" if "rows_per_s" in case else case.get("error", "")
            lines.append(f"| {label} | {case.get('rows', '')} | {rate} |")
        ratios = report.get("ratios") or []
        if ratios:
            lines += ["", "| ratio | measured | target |", "|---|---:|---:|"]
            for ratio in ratios:
                mark = "" if ratio.get("met", True) else " (missed)"
                lines.append(
                    f"| {ratio['label']} | {ratio['ratio']:.2f}{mark} | {ratio.get('target', '')} |"
                )
    return "\n".join(lines)


def pagination_bars(data: dict[str, Any]) -> list[Bar]:
    bars = []
    for result in data.get("results", []):
        title = f"pages, {result['backend']} ({result['rows']:,} rows; ms per page)"
        for kind in ("offset", "cursor"):
            for end in ("first", "last"):
                bars.append((title, f"{kind}: {end} page", result[kind][f"{end}_ms"]))
    return bars


def pagination_table(data: dict[str, Any]) -> str:
    lines = [
        "### Deep pages: OFFSET against the keyset cursor",
        "",
        "| backend | rows | OFFSET first page | OFFSET last page | cursor first page "
        "| cursor last page |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in data.get("results", []):
        lines.append(
            f"| {r['backend']} | {r['rows']:,} | {r['offset']['first_ms']:.0f} ms "
            f"| {r['offset']['last_ms']:.0f} ms | {r['cursor']['first_ms']:.0f} ms "
            f"| {r['cursor']['last_ms']:.0f} ms |"
        )
    return "\n".join(lines)


def streaming_bars(data: dict[str, Any]) -> list[Bar]:
    return [
        (f"streaming, {r['backend']} (rows/s)", r["method"], r["rows_per_s"])
        for r in data.get("results", [])
    ]


def streaming_table(data: dict[str, Any]) -> str:
    lines = [
        f"### Streaming every row ({data.get('table_rows', 0):,}-row table)",
        "",
        "| backend | method | rows/s | memory growth |",
        "|---|---|---:|---:|",
    ]
    for r in data.get("results", []):
        lines.append(
            f"| {r['backend']} | {r['method']} | {r['rows_per_s']:,.0f} "
            f"| {r['memory_growth_mb']:.1f} MB |"
        )
    return "\n".join(lines)


def http_table(data: dict[str, Any]) -> str:
    lines = [
        f"### HTTP reads and writes ({data.get('heroes', 0):,} heroes, "
        f"{data.get('connections', 0)} connections, one uvicorn worker)",
        "",
        "| request | app | req/s | p50 ms | p99 ms | server CPU us/req |",
        "|---|---|---:|---:|---:|---:|",
    ]
    ratios = data.get("ratios", {})
    for case, apps in data.get("results", {}).items():
        cpu = ratios.get(case, {}).get("server_cpu_us_per_req", {})
        for app, r in apps.items():
            used = f"{cpu[app]:,.0f}" if app in cpu else ""  # older results: no CPU column
            lines.append(
                f"| {case} | {app} | {r['req_per_s']:,.0f} | {r['p50_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {used} |"
            )
    lines += ["", "| request | against | ratio | target |", "|---|---|---:|---|"]
    for target in data.get("ratios", {}).get("targets", []):
        verdict = "met" if target["met"] else "**not met**"
        lines.append(
            f"| {target['case']} | {target['against']} | {target['ratio']:.2f}x "
            f"| >= {target['minimum']}x: {verdict} |"
        )
    return "\n".join(lines)


def orm_ops_table(data: dict[str, Any]) -> str:
    from benchmarks.orm_ops import summary_table, table

    lines = [
        f"### Everyday ORM operations ({data.get('rows', '?')} rows per insert operation, "
        f"{data.get('concurrency', 10)} concurrent tasks, median of {data.get('runs', '?')})",
        "",
        summary_table(data),
    ]
    for backend, shapes in data.get("results", {}).items():
        for shape in shapes:
            lines += ["", table(data, backend, shape)]
    paths = data.get("paths") or {}
    if paths:
        lines += ["", "Library calls used where it has several: "
                  + ", ".join(f"{k}: `{v}`" for k, v in paths.items()) + "."]
    return "\n".join(lines)


BENCHMARKS: dict[str, tuple[Callable[[dict[str, Any]], list[Bar]], Callable[[dict[str, Any]], str]]]
BENCHMARKS = {
    "bulk": (bulk_bars, bulk_table),
    "pagination": (pagination_bars, pagination_table),
    "streaming": (streaming_bars, streaming_table),
    "http": (lambda _data: [], http_table),
    # drawn on a chart of its own (draw_orm_ops): a grid, one panel per backend and table
    "orm_ops": (lambda _data: [], orm_ops_table),
}
ORM_OPS_CHART = ROOT / "docs" / "benchmarks_orm_ops.png"


# --- output -------------------------------------------------------------------------------


def draw(bars: list[Bar], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    panels: dict[str, list[tuple[str, float]]] = {}
    for title, label, value in bars:
        panels.setdefault(title, []).append((label, value))
    heights = [max(1.6, 0.32 * len(items) + 0.8) for items in panels.values()]
    figure, axes = plt.subplots(
        len(panels), 1, figsize=(10, sum(heights)), gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for axis, (title, items) in zip(axes[:, 0], panels.items(), strict=True):
        labels = [label for label, _ in items]
        values = [value for _, value in items]
        colours = ["tab:green" if _is_ours(label) else "tab:gray" for label in labels]
        axis.barh(labels, values, color=colours)
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.set_title(title, loc="left", fontsize=10)
        axis.tick_params(axis="y", labelsize=8)
        for y, value in enumerate(values):
            axis.annotate(f"{value:,.0f}", (value, y), xytext=(3, 0),
                          textcoords="offset points", va="center", fontsize=7)
    figure.suptitle("sqlmodel-async (green) against the seed, raw drivers and peers (log scale)")
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 / sum(heights)))  # room for the suptitle
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_orm_ops(data: dict[str, Any], path: Path) -> None:
    """rows/s per operation, one group of bars per operation and one colour per side; a
    panel per backend (rows) and table (columns), log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results: dict[str, dict[str, Any]] = data.get("results", {})
    backends = list(results)
    shapes = sorted({shape for per in results.values() for shape in per})
    if not backends or not shapes:
        return
    order = ("library", "tortoise", "piccolo", "sqlmodel", "asyncpg")
    sides = sorted(data.get("sides", {}), key=lambda k: order.index(k) if k in order else 9)
    colours = {"library": "tab:green", "tortoise": "tab:blue", "piccolo": "tab:orange",
               "sqlmodel": "tab:gray", "asyncpg": "black"}
    ops = list("ABCDEFGHIJK")
    height = 3.2 * len(backends) + 0.8  # inches; the top 0.8 for the title and legend
    figure, axes = plt.subplots(
        len(backends), len(shapes), figsize=(5.5 * len(shapes), height), squeeze=False,
    )
    width = 0.8 / max(1, len(sides))
    for row, backend in enumerate(backends):
        for column, shape in enumerate(shapes):
            axis = axes[row, column]
            per_side = results[backend].get(shape, {})
            for n, side in enumerate(sides):
                values = [per_side.get(side, {}).get(op, {}).get("rows_per_s", 0) for op in ops]
                xs = [i + (n - (len(sides) - 1) / 2) * width for i in range(len(ops))]
                axis.bar(xs, [v or float("nan") for v in values], width,
                         label=data["sides"][side], color=colours.get(side, "tab:purple"))
            summary = data.get("ratios", {}).get(backend, {}).get(shape, {})
            mean = summary.get("geomean_vs_best_peer")
            failed = summary.get("failed") or []
            subtitle = f"; ours / best peer {mean:.2f}x" if mean else ""
            subtitle += f" ({', '.join(failed)} failed)" if failed else ""
            axis.set_title(f"{backend}, {data.get('shapes', {}).get(shape, shape)}{subtitle}",
                           fontsize=9, loc="left")
            axis.set_yscale("log")
            axis.set_xticks(range(len(ops)), ops, fontsize=8)
            axis.tick_params(axis="y", labelsize=7)
            if column == 0:
                axis.set_ylabel("rows/s", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.suptitle("Everyday ORM operations (Tortoise's orm-benchmarks suite; log scale)",
                    y=1 - 0.1 / height, fontsize=10)
    figure.legend(handles, labels, loc="upper center", ncol=len(sides), fontsize=8,
                  bbox_to_anchor=(0.5, 1 - 0.35 / height))
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.8 / height))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _is_ours(label: str) -> bool:
    return label.startswith(("ours", "stream()", "stream_rows()", "cursor"))


def write_tables(tables: list[str], page: Path) -> bool:
    """Replace the tables between the markers of docs/benchmarks.md; False if none."""
    if not page.exists():
        return False
    text = page.read_text()
    if START not in text or END not in text:
        return False
    body = "\n\n".join(tables) if tables else "No results yet: run `make bench`."
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    page.write_text(pattern.sub(lambda _: f"{START}\n{body}\n{END}", text))
    return True


def table_marker(name: str) -> str:
    return f"<!-- table: {name} -->"


def kept_tables(page: Path) -> dict[str, str]:
    """The tables the page has now, by benchmark (each after its marker), so that a
    benchmark that has not run on this machine keeps the table of its last run."""
    if not page.exists():
        return {}
    text = page.read_text()
    if START not in text or END not in text:
        return {}
    body = text[text.index(START) + len(START) : text.index(END)]
    found = {}
    for part in re.split(r"(?=<!-- table: )", body):
        match = re.match(r"<!-- table: (\w+) -->\n", part)
        if match:
            found[match.group(1)] = part[match.end() :].strip()
    return found


def main() -> None:
    bars: list[Bar] = []
    tables: list[str] = []
    kept = kept_tables(PAGE)
    complete = True
    for name, (to_bars, to_table) in BENCHMARKS.items():
        data = load(name)
        if data is None:
            complete = False
            if name in kept:
                print(f"no benchmarks/results/{name}.json: its table of the last run kept")
                tables.append(f"{table_marker(name)}\n{kept[name]}")
            else:
                print(f"no benchmarks/results/{name}.json: left out")
            continue
        bars += to_bars(data)
        tables.append(f"{table_marker(name)}\n{to_table(data)}")
    if bars and complete:
        draw(bars, CHART)
        print(f"chart written to {CHART.relative_to(ROOT)}")
    elif bars:
        print(f"{CHART.relative_to(ROOT)} left as it is: some benchmarks have no results here")
    orm_ops = load("orm_ops")
    if orm_ops is not None:
        draw_orm_ops(orm_ops, ORM_OPS_CHART)
        print(f"chart written to {ORM_OPS_CHART.relative_to(ROOT)}")
    if write_tables(tables, PAGE):
        print(f"tables written to {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
