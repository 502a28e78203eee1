"""Single-row update and delete by key: `Repository.update` / `Repository.delete`, each in
its own `db.transaction()`, against raw asyncpg doing the same statements in its own
transaction, same rows, same concurrency, one run. PostgreSQL only.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m benchmarks.single_writes --rows 2000 --tasks 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from sqlmodel_async import Database, Repository


class BenchBase(SQLModel, registry=registry()):
    pass


class SingleRow(BenchBase, table=True):
    __tablename__ = "bench_single_row"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    n: int = 0


async def _spread(
    keys: Sequence[int], tasks: int, one: Callable[[int], Awaitable[object]]
) -> float:
    async def worker(part: Sequence[int]) -> None:
        for key in part:
            await one(key)

    started = time.perf_counter()
    await asyncio.gather(*(worker(keys[i::tasks]) for i in range(tasks)))
    return time.perf_counter() - started


async def _fill(db: Database, rows: int) -> list[int]:
    async with db.transaction() as session:
        await Repository(SingleRow, session).delete_where(all=True)
        created = await Repository(SingleRow, session).create_many(
            [{"name": f"row {i}"} for i in range(rows)]
        )
    return [row.id for row in created if row.id is not None]


async def run(url: str, rows: int, tasks: int) -> None:
    db = Database(url, pool_size=tasks, max_overflow=0, metadata=BenchBase.metadata)
    await db.create_all()
    raw_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(raw_url, min_size=tasks, max_size=tasks)
    assert pool is not None
    results: dict[str, float] = {}
    try:
        async def library_update(key: int) -> None:
            async with db.transaction() as session:
                await Repository(SingleRow, session).update(key, {"n": key})

        async def library_delete(key: int) -> None:
            async with db.transaction() as session:
                await Repository(SingleRow, session).delete(key)

        async def raw_update(key: int) -> None:
            async with pool.acquire() as connection, connection.transaction():
                await connection.fetchrow(
                    "UPDATE bench_single_row SET n = $1 WHERE id = $2 "
                    "RETURNING id, name, n", key, key,
                )

        async def raw_delete(key: int) -> None:
            async with pool.acquire() as connection, connection.transaction():
                await connection.execute("DELETE FROM bench_single_row WHERE id = $1", key)

        # warm up: connections, prepared statements, compiled statements
        keys = await _fill(db, 200)
        await _spread(keys, tasks, library_update)
        await _spread(keys, tasks, raw_update)
        for label, one in (
            ("update: Repository.update", library_update),
            ("update: raw asyncpg", raw_update),
            ("delete: Repository.delete", library_delete),
            ("delete: raw asyncpg", raw_delete),
        ):
            keys = await _fill(db, rows)
            results[label] = rows / await _spread(keys, tasks, one)
    finally:
        await pool.close()
        async with db.engine.begin() as connection:
            await connection.run_sync(BenchBase.metadata.drop_all)
        await db.dispose()
    for label, rate in results.items():
        print(f"{label:28} {rate:9.0f} rows/s")
    for op in ("update", "delete"):
        library = results[f"{op}: Repository.{op}"]
        raw = results[f"{op}: raw asyncpg"]
        print(f"{op}: library / raw asyncpg = {library / raw:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=10)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(run(url, args.rows, args.tasks))


if __name__ == "__main__":
    main()
