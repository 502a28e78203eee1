"""A filtered, sorted page of 100 through the Heroes service against a hand-written asyncpg
endpoint running the same SQL, on PostgreSQL with 10,000 heroes in 100 teams.

    GET /heroes/?age__gte=30&team__name__icontains=team 1&sort=-age,name&limit=100

The service answers it as it serves it (FilterSet parameters validated by FastAPI, the
cached filter plan bound, the reader's JSON listing); the raw endpoint is a bare Starlette
route that reads the same parameters, escapes the text the same way and runs the service's
SQL on an asyncpg pool, serialising with pydantic-core. Both apps run in this process and
are called through httpx's ASGI transport with CONCURRENCY requests in flight, in
BENCH_ROUNDS (default 5) interleaved rounds of BENCH_REQUESTS (default 400) requests; the
median round counts. Before timing, both bodies are checked to be the same JSON.

    python -m benchmarks.filters

Database: `<name>_filters` on the server of BENCH_POSTGRESQL_URL (default:
TEST_POSTGRESQL_URL, then `test`), dropped and made anew each run. Results: printed, and
written to benchmarks/results/filters.json with the load average (the machine is shared:
compare the ratio of one run, not absolute numbers across runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path

import asyncpg
import heroes.models  # noqa: F401  (the service's tables on SQLModel.metadata)
import httpx
from heroes.api import create_app
from heroes.models import Hero, Team
from pydantic_core import to_json
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sqlmodel_async import Database, Repository

RESULTS = Path(__file__).parent / "results"
HEROES = 10_000
TEAMS = 100
CONCURRENCY = 16
POOL_SIZE = 10
QUERY = "/heroes/?age__gte=30&team__name__icontains=team%201&sort=-age,name&limit=100"

#: The statement the service runs for QUERY (its SQL, as PostgreSQL receives it).
SQL = """
SELECT hero.name, hero.secret_name, hero.age, hero.team_id, hero.power_level, hero.id
FROM hero
WHERE hero.age >= $1
  AND hero.team_id IN (SELECT team.id FROM team WHERE team.name ILIKE '%' || $2 || '%' ESCAPE '/')
ORDER BY hero.age DESC, hero.name, hero.id
LIMIT $3 OFFSET $4
"""


def database_url() -> str:
    base = make_url(
        os.environ.get("BENCH_POSTGRESQL_URL")
        or os.environ.get("TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    )
    url: str = base.set(database=f"{base.database}_filters").render_as_string(
        hide_password=False
    )
    return url


def driver_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    dsn: str = parsed.render_as_string(hide_password=False)
    return dsn


async def create_database(url: str) -> None:
    """(Re)create the benchmark's own database (never the configured one itself)."""
    name = make_url(url).database
    assert name is not None and name.endswith("_filters")
    admin = await asyncpg.connect(driver_dsn(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def seed(db: Database) -> None:
    await db.create_all()
    async with db.transaction() as session:
        teams = await Repository(Team, session).create_many(
            [{"name": f"Team {n}", "headquarters": f"HQ {n}"} for n in range(TEAMS)],
            returning=True,
        )
        await Repository(Hero, session).create_many(
            [
                {
                    "name": f"Hero {n:05}",
                    "secret_name": f"Secret {n}",
                    "age": (n * 37) % 100,
                    "team_id": teams[n % TEAMS].id,
                    "power_level": float(n % 97),
                }
                for n in range(HEROES)
            ],
            returning=False,
        )
    async with db.engine.begin() as connection:
        await connection.exec_driver_sql("ANALYZE")


def raw_app(dsn: str) -> Starlette:
    pool: asyncpg.Pool | None = None

    async def heroes(request: Request) -> Response:
        nonlocal pool
        if pool is None:
            pool = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
        params = request.query_params
        try:
            age = int(params["age__gte"])
            limit = int(params.get("limit", "100"))
            offset = int(params.get("offset", "0"))
        except (KeyError, ValueError):
            return Response(b'{"detail":"bad request"}', status_code=422)
        text = params["team__name__icontains"]
        pattern = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
        if params.get("sort") != "-age,name" or not 0 <= limit <= 100:
            return Response(b'{"detail":"bad request"}', status_code=422)
        async with pool.acquire() as connection:
            rows = await connection.fetch(SQL, age, pattern, limit, offset)
        return Response(to_json([dict(row) for row in rows]), media_type="application/json")

    return Starlette(routes=[Route("/heroes/", heroes)])


async def measure(client: httpx.AsyncClient, requests: int) -> float:
    """Requests per second with CONCURRENCY requests in flight."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            response = await client.get(QUERY)
            assert response.status_code == 200

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return requests / (time.perf_counter() - start)


async def main() -> None:
    url = database_url()
    await create_database(url)
    db = Database(url, pool_size=POOL_SIZE, max_overflow=0)
    await seed(db)
    apps = {"service": create_app(database=db), "raw_asyncpg": raw_app(driver_dsn(url))}
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
        for name, app in apps.items()
    }
    try:
        bodies = {name: (await client.get(QUERY)).json() for name, client in clients.items()}
        assert bodies["service"] == bodies["raw_asyncpg"], "the apps answer differently"
        assert len(bodies["service"]) == 100
        rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
        requests = int(os.environ.get("BENCH_REQUESTS", "400"))
        for client in clients.values():  # warm: plans, statement caches, pools
            await measure(client, 100)
        results: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(rounds):
            for name, client in clients.items():
                results[name].append(await measure(client, requests))
    finally:
        for client in clients.values():
            await client.aclose()
        await db.dispose()
    medians = {name: statistics.median(values) for name, values in results.items()}
    ratio = medians["service"] / medians["raw_asyncpg"]
    print(f"{QUERY}  ({HEROES} heroes, {CONCURRENCY} in flight, {rounds} rounds)")
    for name, value in medians.items():
        print(f"  {name:12} {value:8.0f} req/s   rounds: {[round(v) for v in results[name]]}")
    print(f"  service / raw_asyncpg = {ratio:.2f}x (target >= 0.5x)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "filters.json").write_text(
        json.dumps(
            {
                "query": QUERY,
                "requests_per_second": medians,
                "rounds": results,
                "ratio": ratio,
                "load_average": os.getloadavg(),
                "python": platform.python_version(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
