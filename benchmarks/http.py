"""HTTP throughput of the Heroes service against the seed's async pattern and a raw asyncpg
endpoint, on PostgreSQL with 10,000 heroes in 100 teams.

The service runs exactly as its users run it: `heroes serve --host 127.0.0.1 --port N`
(one worker, its default pool, uvicorn's default logging with the access log), with only
DATABASE_URL set. Every other app runs under uvicorn the same way (one worker, its default
event loop and HTTP parser, the same logging; every app's output goes to a file), each in
its own process on a free loopback port, with the pool the service has by default (10
connections, no overflow). wrk (another process) drives each with 64 connections for
BENCH_SECONDS (default 5) per case: GET /heroes/{id} (random ids), GET /heroes/?limit=100,
GET /teams/{id} (random teams, ~90 heroes each), POST /heroes/, PATCH /heroes/{id} (random
ids, two fields), DELETE /heroes/{id} (rows inserted for it before each run, each deleted
once), in BENCH_ROUNDS (default 5) interleaved rounds; the median round counts. Before the
load, the apps' bodies for the same requests are compared, and each app answers every read
for 2 s untimed (warm caches).

BENCH_POOL_SIZE=N gives every app, the service included (POOL_SIZE=N MAX_OVERFLOW=0), a
pool of N instead; BENCH_NO_ACCESS_LOG=1 turns the access log off for every app (for the
service through `heroes serve --no-access-log`, when its `serve` has that option). The
defaults measure what `heroes serve` users get.

POST /heroes/ schedules a notification (a background task reading the new hero back) in
the service; the baselines' POST endpoints schedule the same read, so both sides pay for it.

    python -m benchmarks.http                                  # 5 s x 5 rounds
    BENCH_SECONDS=3 BENCH_ROUNDS=1 python -m benchmarks.http   # quicker

Database: `<name>_http` on the server of BENCH_POSTGRESQL_URL (default: TEST_POSTGRESQL_URL,
then the `test` database), dropped and made anew by the service's migrations each run, so
the service finds only its own tables. wrk comes from Debian's packages: it is installed
when missing and we are root, otherwise the benchmark says so and stops. Results:
printed, and written to benchmarks/results/http.json (with the machine's load average: the
machine is shared, so ratios measured in one run are what to compare).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import asyncpg
import heroes.models  # noqa: F401  (the service's tables on SQLModel.metadata)
from heroes.migrations.runner import upgrade
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from sqlmodel_async import Database
from sqlmodel_async.database import DEFAULT_POOL_SIZE

RESULTS = Path(__file__).parent / "results"
LOGS = Path(tempfile.gettempdir()) / "sqlmodel_async_bench_http"
LOGS.mkdir(exist_ok=True)
#: Each server's log file (by pid): read when it fails to start, removed when it stops.
_LOG_FILES: dict[int, Path] = {}
HEROES = 10_000
TEAMS = 100
CONNECTIONS = 64

APPS = {
    # `heroes serve` itself (start() builds the command): the app, collector, pool and
    # logging its users get.
    "service": ["heroes", "serve"],
    "seed": ["benchmarks._http_apps:seed_app", "--factory"],
    "raw_asyncpg": ["benchmarks._http_apps:raw_app", "--factory"],
    "fastapi_asyncpg": ["benchmarks._http_apps:fastapi_raw_app", "--factory"],
}

#: wrk scripts per case; RUN is replaced so POSTed names never collide between runs.
CASES: dict[str, str] = {
    "GET /heroes/{id}": """
function setup(thread) n_threads = (n_threads or 0) + 1; thread:set("tid", n_threads) end
function init(args) math.randomseed(tid * 7919 + os.time()) end
function request() return wrk.format("GET", "/heroes/" .. math.random(1, %(heroes)d)) end
""",
    "GET /heroes/?limit=100": """
function request() return wrk.format("GET", "/heroes/?limit=100") end
""",
    "GET /teams/{id}": """
function setup(thread) n_threads = (n_threads or 0) + 1; thread:set("tid", n_threads) end
function init(args) math.randomseed(tid * 104729 + os.time()) end
function request() return wrk.format("GET", "/teams/" .. math.random(1, %(teams)d)) end
""",
    "POST /heroes/": """
function setup(thread) n_threads = (n_threads or 0) + 1; thread:set("tid", n_threads) end
function init(args) n = 0; math.randomseed(tid * 15485863 + os.time()) end
function request()
  n = n + 1
  local body = string.format(
    '{"name":"bench-%(run)s-%%d-%%d","secret_name":"Posted","age":33,"team_id":%%d,' ..
    '"power_level":61.5}', tid, n, math.random(1, %(teams)d))
  return wrk.format("POST", "/heroes/", {["Content-Type"] = "application/json"}, body)
end
""",
    "PATCH /heroes/{id}": """
function setup(thread) n_threads = (n_threads or 0) + 1; thread:set("tid", n_threads) end
function init(args) math.randomseed(tid * 32452843 + os.time()) end
function request()
  local body = string.format('{"power_level":%%.1f,"age":%%d}',
    math.random(5, 995) / 10, math.random(18, 90))
  return wrk.format("PATCH", "/heroes/" .. math.random(1, %(heroes)d),
    {["Content-Type"] = "application/json"}, body)
end
""",
    # Each thread deletes every THREADS-th id of the range inserted for this run, once.
    "DELETE /heroes/{id}": """
function setup(thread) n_threads = (n_threads or 0) + 1; thread:set("tid", n_threads) end
function init(args) n = 0 end
function request()
  local id = %(first)d + n * %(threads)d + (tid - 1)
  n = n + 1
  return wrk.format("DELETE", "/heroes/" .. id)
end
""",
}
THREADS = 2
#: Rows inserted before each DELETE run: more than any app deletes in BENCH_SECONDS.
DELETE_ROWS = int(os.environ.get("BENCH_DELETE_ROWS", "40000"))
#: The seed's app has no PATCH or DELETE endpoint.
CASE_APPS = {"PATCH /heroes/{id}": ("service", "raw_asyncpg", "fastapi_asyncpg"),
             "DELETE /heroes/{id}": ("service", "raw_asyncpg", "fastapi_asyncpg")}

#: The targets: (case, app, baseline, minimum ratio app/baseline). The raw
#: asyncpg endpoint is bare Starlette; `fastapi_asyncpg` (the same SQL as FastAPI
#: endpoints) is printed beside it: it is the ceiling of any FastAPI app.
TARGETS = [
    ("GET /heroes/{id}", "service", "seed", 3.0),
    ("GET /heroes/{id}", "service", "raw_asyncpg", 0.6),
    ("GET /heroes/?limit=100", "service", "raw_asyncpg", 0.5),
    # single-row writes against the same statements and validation as FastAPI endpoints
    ("POST /heroes/", "service", "fastapi_asyncpg", 0.6),
    ("PATCH /heroes/{id}", "service", "fastapi_asyncpg", 0.6),
    ("DELETE /heroes/{id}", "service", "fastapi_asyncpg", 0.6),
]
BASELINES = ("seed", "raw_asyncpg", "fastapi_asyncpg")


def database_url() -> str:
    """`<database>_http` next to the configured database: the service starts only on a
    database whose schema its migrations know, so it gets one holding only its tables."""
    base = make_url(
        os.environ.get("BENCH_POSTGRESQL_URL")
        or os.environ.get("TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    )
    url: str = base.set(database=f"{base.database}_http").render_as_string(hide_password=False)
    return url


async def create_database(url: str) -> None:
    """(Re)create the benchmark's own database (never the configured one itself)."""
    assert make_url(url).database.endswith("_http")  # type: ignore[union-attr]
    parsed = make_url(url)
    admin = await asyncpg.connect(
        parsed.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
    )
    try:
        # A fresh database each run: its schema is the service's current models and
        # migrations, whatever an earlier run left.
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("installing wrk (Debian package)...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(command, env=env, capture_output=True, check=False)
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


# --- data ---------------------------------------------------------------------------------


async def seed_data(url: str) -> None:
    """The service's tables, emptied, with TEAMS teams and HEROES heroes (every tenth hero
    without a team)."""
    await create_database(url)
    database = Database(url, metadata=SQLModel.metadata)
    # The service starts only on a schema its migrations made (or adopted).
    await upgrade(database)
    await database.dispose()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        await connection.copy_records_to_table(
            "team", columns=["name", "headquarters"],
            records=[(f"Team {n}", f"Tower {n}") for n in range(1, TEAMS + 1)],
        )
        await connection.copy_records_to_table(
            "hero", columns=["name", "secret_name", "age", "team_id", "power_level"],
            records=[
                (f"Hero {n}", f"Secret {n}", 18 + n % 60 if n % 7 else None,
                 None if n % 10 == 0 else 1 + n % TEAMS, float(n % 1000) / 10 + 0.5)
                for n in range(1, HEROES + 1)
            ],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def delete_posted(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("DELETE FROM hero WHERE name LIKE 'bench-%'")
    finally:
        await connection.close()


async def insert_victims(url: str, count: int) -> int:
    """`count` heroes for a DELETE run, with consecutive ids; the first id."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        ids = await connection.fetch(
            "INSERT INTO hero (name, secret_name, power_level) "
            "SELECT 'bench-delete-' || g || '-' || $2::text, 'Victim', 50.0 "
            "FROM generate_series(1, $1) g RETURNING id",
            count, str(time.time_ns()),
        )
    finally:
        await connection.close()
    first, last = min(r["id"] for r in ids), max(r["id"] for r in ids)
    assert last - first + 1 == count, "the rows to delete do not have consecutive ids"
    return int(first)


# --- servers and load -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def no_access_log() -> bool:
    return os.environ.get("BENCH_NO_ACCESS_LOG", "") not in ("", "0")


def serve_has(option: str) -> bool:
    """Whether `heroes serve` takes `option` (e.g. --no-access-log)."""
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "heroes"), "serve", "--help"],
        capture_output=True, text=True, check=False, env={**os.environ, "COLUMNS": "200"},
    ).stdout
    return option in shown


def start(
    app: str, url: str, pool_size: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start `app` on a free port; `pool_size=None`: the service's default pool (and the
    baselines a pool of the same size, DEFAULT_POOL_SIZE)."""
    port = free_port()
    size = DEFAULT_POOL_SIZE if pool_size is None else pool_size
    env = {
        **os.environ,
        "DATABASE_URL": url, "BENCH_DATABASE_URL": url, "BENCH_POOL_SIZE": str(size),
    }
    for name in ("POOL_SIZE", "MAX_OVERFLOW", "POOL_TIMEOUT", "POOL_RECYCLE"):
        env.pop(name, None)  # the service's settings: only what this benchmark sets
    if pool_size is not None:
        env.update(POOL_SIZE=str(pool_size), MAX_OVERFLOW="0")
    quiet = ["--no-access-log"] if no_access_log() else []
    if APPS[app][:2] == ["heroes", "serve"]:
        command = [str(Path(sys.executable).parent / "heroes"), "serve",
                   "--host", "127.0.0.1", "--port", str(port)]
        if quiet and serve_has("--no-access-log"):
            command += quiet
        elif quiet:
            print("  `heroes serve` has no --no-access-log: the service logs every request",
                  flush=True)
    else:
        command = [sys.executable, "-m", "uvicorn", *APPS[app], "--host", "127.0.0.1",
                   "--port", str(port), "--workers", "1", *quiet]
    # Every app's log goes to a file: the same cost for each, and readable after a failure.
    log = open(LOGS / f"{app}-{port}.log", "wb")  # noqa: SIM115 (kept open by the server)
    process = subprocess.Popen(
        command, env=env, cwd=Path(__file__).parent.parent, stdout=log, stderr=log
    )
    _LOG_FILES[process.pid] = Path(log.name)
    log.close()  # the server has its own copy of the descriptor
    deadline = time.monotonic() + 120  # generous: imports alone are slow on a busy machine
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/heroes/1", timeout=2):
                return process, port
        except urllib.error.HTTPError as error:
            stop(process)
            raise RuntimeError(f"{app} answered {error.code} to GET /heroes/1") from None
        except OSError:
            if process.poll() is not None:
                tail = _LOG_FILES[process.pid].read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{app} exited with {process.returncode}:\n{tail}") from None
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{app} did not answer within 120 s")


def warm_up(wrk: str, ports: dict[str, int], seconds: int = 2) -> None:
    """Every app answers each read for a moment before anything is timed: its caches
    (compiled statements, prepared statements, serializers) and its pool are filled, so the
    first round does not measure start-up."""
    for case, template in CASES.items():
        if case.startswith("GET"):
            for port in ports.values():
                script = template % {"heroes": HEROES, "teams": TEAMS, "run": "warm"}
                run_wrk(wrk, port, script, seconds)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = _LOG_FILES.pop(process.pid, None)
    if log is not None:
        log.unlink(missing_ok=True)


def fetch(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        body: bytes = response.read()
        return body


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(wrk: str, port: int, script: str, seconds: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        output = subprocess.run(
            [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", file.name,
             f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(file.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", output, re.MULTILINE))
    if set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    total = re.search(r"(\d+) requests in", output)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "req_per_s": rate,
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": _ms(percentiles["50"]),
        "p99_ms": _ms(percentiles["99"]),
        "non_2xx": int(failed.group(1)) if failed else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else None,
    }


# --- the run ----------------------------------------------------------------------------


def compare_bodies(ports: dict[str, int]) -> dict[str, bool]:
    """Same requests to every app: are the JSON documents equal, and the bytes?"""
    paths = ["/heroes/1", "/heroes/10", "/heroes/?limit=100", "/teams/1", "/teams/7"]
    equal = {"json": True, "bytes": True}
    for path in paths:
        bodies = {app: fetch(port, path) for app, port in ports.items()}
        reference = bodies["service"]
        for app, body in bodies.items():
            if json.loads(body) != json.loads(reference):
                equal["json"] = False
                print(f"  ! {app} {path}: a different JSON document", flush=True)
            if body != reference:
                equal["bytes"] = False
    return equal


def main() -> None:
    wrk = ensure_wrk()
    if wrk is None:
        print("SKIPPED: wrk is not installed (apt-get install -y wrk, as root)")
        return
    url = database_url()
    seconds = int(os.environ.get("BENCH_SECONDS", "5"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    # None: the service's default pool, and the baselines one of the same size
    pool_size = int(os.environ["BENCH_POOL_SIZE"]) if os.environ.get("BENCH_POOL_SIZE") else None
    asyncio.run(seed_data(url))
    load_before = os.getloadavg()
    print(f"{HEROES} heroes, {TEAMS} teams; {CONNECTIONS} connections, {seconds} s per case "
          f"x {rounds} rounds, pool {pool_size or f'default ({DEFAULT_POOL_SIZE})'}, access log "
          f"{'off' if no_access_log() else 'on'}; load average {load_before[0]:.2f}", flush=True)
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    results: dict[str, dict[str, Any]] = {case: {} for case in CASES}
    try:
        for app in APPS:
            servers[app] = start(app, url, pool_size)
        ports = {app: port for app, (_, port) in servers.items()}
        bodies = compare_bodies(ports)
        print(f"bodies equal across apps: json={bodies['json']} bytes={bodies['bytes']}")
        warm_up(wrk, ports)
        # Rounds interleave the apps (the machine is shared: a slow minute hits each app
        # alike); each case reports the median round of each app.
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {c: {} for c in CASES}
        for round_number in range(1, rounds + 1):
            for case, template in CASES.items():
                for app, port in ports.items():
                    if app not in CASE_APPS.get(case, APPS):
                        continue
                    run = f"{app}{time.time_ns()}"
                    first = (asyncio.run(insert_victims(url, DELETE_ROWS))
                             if case.startswith("DELETE") else 0)
                    script = template % {"heroes": HEROES, "teams": TEAMS, "run": run,
                                         "first": first, "threads": THREADS}
                    pid = servers[app][0].pid
                    cpu_before = cpu_seconds(pid)
                    measured = run_wrk(wrk, port, script, seconds)
                    # CPU the server spent per request: what the shared machine's scheduling
                    # does not change (req/s does: wrk and PostgreSQL share the 2 cores).
                    measured["server_cpu_us_per_req"] = round(
                        (cpu_seconds(pid) - cpu_before) / max(measured["requests"], 1) * 1e6, 1
                    )
                    runs[case].setdefault(app, []).append(measured)
                    print(
                        f"[{round_number}/{rounds}] {case:24} {app:16} "
                        f"{measured['req_per_s']:9.0f} req/s  "
                        f"p50 {measured['p50_ms']:7.2f} ms  p99 {measured['p99_ms']:7.2f} ms  "
                        f"server CPU {measured['server_cpu_us_per_req']:6.0f} us/req"
                        + (f"  NON-2XX {measured['non_2xx']}" if measured["non_2xx"] else "")
                        + (f"  socket errors: {measured['socket_errors']}"
                           if measured["socket_errors"] else ""),
                        flush=True,
                    )
                asyncio.run(delete_posted(url))
        for case, per_app in runs.items():
            for app, measured_runs in per_app.items():
                ordered = sorted(measured_runs, key=lambda m: m["req_per_s"])
                results[case][app] = {**ordered[len(ordered) // 2], "rounds": measured_runs}
    finally:
        for process, _port in servers.values():
            stop(process)
    ratios = report(results)
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "http.json").write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "heroes": HEROES, "teams": TEAMS, "connections": CONNECTIONS, "seconds": seconds,
        "rounds": rounds, "pool_size": pool_size or DEFAULT_POOL_SIZE,
        "pool": "BENCH_POOL_SIZE for every app" if pool_size else "the service's default",
        "access_log": not no_access_log(), "bodies_equal": bodies, "results": results,
        "ratios": ratios,
    }, indent=2) + "\n")
    print(f"written to {RESULTS / 'http.json'}")


def _ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 2) if baseline > 0 else None


def report(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    print("\nratios (req/s, service / baseline):")
    ratios: dict[str, Any] = {}
    for case, measured in results.items():
        service = measured["service"]["req_per_s"]
        ratios[case] = {
            f"service/{app}": _ratio(service, measured[app]["req_per_s"])
            for app in BASELINES if app in measured
        }
        print(f"  {case:24} " + "  ".join(
            f"{k} {'-' if v is None else f'{v:.2f}'}x" for k, v in ratios[case].items()))
    print("server CPU per request (median over rounds; us, lower is better):")
    for case, measured in results.items():
        cpu = {app: statistics.median(r["server_cpu_us_per_req"] for r in m["rounds"])
               for app, m in measured.items()}
        ratios[case]["server_cpu_us_per_req"] = cpu
        print(f"  {case:24} " + "  ".join(f"{app} {value:.0f}" for app, value in cpu.items()))
    print("targets (issue 7):")
    met = []
    for case, app, baseline, minimum in TARGETS:
        ratio = _ratio(results[case][app]["req_per_s"], results[case][baseline]["req_per_s"])
        if ratio is None:  # the baseline answered nothing (a timed-out round)
            print(f"  {case:24} {app}/{baseline}: no ratio, {baseline} answered nothing")
            continue
        ok = ratio >= minimum
        met.append({"case": case, "against": baseline, "minimum": minimum,
                    "ratio": ratio, "met": ok})
        print(f"  {case:24} {app}/{baseline} {ratio:.2f}x (>= {minimum}x): "
              f"{'met' if ok else 'NOT MET'}")
    ratios["targets"] = met
    return ratios


if __name__ == "__main__":
    main()
