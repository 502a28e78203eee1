"""benchmarks/orm_ops.py: the baselines beside the library, plain SQLModel (its
AsyncSession as its docs use it) and raw asyncpg (the floor on PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import choice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ._orm_ops_models import LEVELS, MODELS, TABLES
from ._orm_ops_sides import (
    POOL,
    Clock,
    Side,
    Target,
    Work,
    create_tables,
    timed,
    whole_row,
)

# --- plain SQLModel -----------------------------------------------------------------------


class PlainSQLModel(Side):
    """SQLModel's AsyncSession as its docs and the orm-benchmarks suite use it: add +
    commit, add_all, select, get, merge + commit. Pool of 10, no overflow."""

    key = "sqlmodel"
    label = "SQLModel"

    async def start(self, target: Target) -> None:
        self.engine = create_async_engine(
            target.url_for(self.key), pool_size=POOL, max_overflow=0
        )
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        await create_tables(self.engine)

    async def stop(self) -> None:
        await self.engine.dispose()

    @property
    def model(self) -> Any:
        return MODELS[self.shape]

    async def a(self, w: Work, clock: Clock) -> int:
        model, sessions = self.model, self.sessions

        async def task(n: int) -> int:
            for i in range(n):
                async with sessions() as session:
                    session.add(model(**w.row(i, "A")))
                    await session.commit()
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def b(self, w: Work, clock: Clock) -> int:
        model, sessions = self.model, self.sessions

        async def task(n: int) -> int:
            async with sessions() as session:
                for i in range(n):
                    session.add(model(**w.row(i, "B")))
                await session.commit()
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def c(self, w: Work, clock: Clock) -> int:
        model, sessions = self.model, self.sessions

        async def task(n: int) -> int:
            async with sessions() as session:
                session.add_all([model(**w.row(i, "C")) for i in range(n)])
                await session.commit()
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def _select(
        self, w: Work, clock: Clock, iterations: int, page: bool, shape_rows: Callable[[Any], Any]
    ) -> int:
        model, sessions = self.model, self.sessions

        async def task() -> int:
            count = 0
            async with sessions() as session:
                for _ in range(iterations):
                    for level in LEVELS:
                        statement = select(model).where(model.level == level)
                        if page:
                            statement = statement.limit(20).offset(w.offset())
                        count += len(shape_rows((await session.exec(statement)).all()))
            return count

        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def d(self, w: Work, clock: Clock) -> int:
        return await self._select(w, clock, 1, False, list)

    async def e(self, w: Work, clock: Clock) -> int:
        return await self._select(w, clock, w.e_iterations, True, list)

    async def f(self, w: Work, clock: Clock) -> int:
        model, sessions = self.model, self.sessions

        async def task(n: int) -> int:
            for _ in range(n):
                async with sessions() as session:
                    await session.get(model, w.key())
            return n

        return await timed(clock, (task(w.gets_per_task) for _ in range(w.concurrency)))

    async def g(self, w: Work, clock: Clock) -> int:
        return await self._select(w, clock, 1, False, lambda rows: [r.model_dump() for r in rows])

    async def h(self, w: Work, clock: Clock) -> int:
        table, sessions = self.model.__table__, self.sessions

        async def task() -> int:
            count = 0
            async with sessions() as session:
                for level in LEVELS:
                    statement = sa.select(*table.c).where(table.c.level == level)
                    count += len((await session.execute(statement)).all())
            return count

        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def _merged(
        self, w: Work, clock: Clock, change: Callable[[AsyncSession, Any], Awaitable[None]]
    ) -> int:
        async with self.sessions() as session:
            slices = w.split(list((await session.exec(select(self.model))).all()))
        sessions = self.sessions

        async def task(objects: Sequence[Any]) -> int:
            async with sessions() as session:
                for obj in objects:
                    await change(session, await session.merge(obj))
                await session.commit()
            return len(objects)

        return await timed(clock, (task(objects) for objects in slices))

    async def i(self, w: Work, clock: Clock) -> int:
        async def change(_: AsyncSession, obj: Any) -> None:
            obj.level = choice(LEVELS)
            obj.text = f"{obj.text} Update"

        return await self._merged(w, clock, change)

    async def j(self, w: Work, clock: Clock) -> int:
        async def change(_: AsyncSession, obj: Any) -> None:
            obj.level = choice(LEVELS)

        return await self._merged(w, clock, change)

    async def k(self, w: Work, clock: Clock) -> int:
        async def change(session: AsyncSession, obj: Any) -> None:
            await session.delete(obj)

        return await self._merged(w, clock, change)


# --- raw asyncpg --------------------------------------------------------------------------


@dataclass
class _Statements:
    insert: str
    update_all: str
    update_level: str
    delete: str
    columns: list[str] = field(default_factory=list)
    json_columns: set[str] = field(default_factory=set)


def _statements(table: sa.Table) -> _Statements:
    columns = [c.name for c in table.columns if c.name != "id"]
    quoted = [f'"{name}"' for name in columns]
    params = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    assignments = ", ".join(f"{q} = ${n}" for n, q in enumerate(quoted, 1))
    return _Statements(
        insert=f'INSERT INTO {table.name} ({", ".join(quoted)}) VALUES ({params})',
        update_all=f"UPDATE {table.name} SET {assignments} WHERE id = ${len(columns) + 1}",
        update_level=f"UPDATE {table.name} SET level = $1 WHERE id = $2",
        delete=f"DELETE FROM {table.name} WHERE id = $1",
        columns=columns,
        json_columns={c.name for c in table.columns if isinstance(c.type, sa.JSON)},
    )


class RawAsyncpg(Side):
    """The floors on PostgreSQL, on an asyncpg pool of 10: for update and delete by key (I,
    J, K) one prepared statement per row, each task in one transaction; for a small bulk
    insert (C) one multi-row `INSERT ... VALUES (...), (...)` per call, the columns' default
    values made once, before the clock."""

    key = "asyncpg"
    label = "raw asyncpg"
    ops = ("C", "I", "J", "K")
    backends = ("postgresql",)

    async def start(self, target: Target) -> None:
        import asyncpg

        url = make_url(target.url).set(drivername="postgresql")
        self.pool = await asyncpg.create_pool(
            url.render_as_string(hide_password=False), min_size=POOL, max_size=POOL
        )
        self.sql = {shape: _statements(model.__table__) for shape, model in MODELS.items()}  # type: ignore[attr-defined]

    async def stop(self) -> None:
        await self.pool.close()

    async def fill(self, work: Work) -> None:
        sql, model = self.sql[self.shape], MODELS[self.shape]
        rows = []
        for i in range(2 * work.rows):  # what A and B leave (C inserts its own) for I, J, K
            values = model(**work.row(i, "fill")).model_dump()
            rows.append(tuple(
                json.dumps(values[c]) if c in sql.json_columns and values[c] is not None
                else values[c]
                for c in sql.columns
            ))
        async with self.pool.acquire() as connection:
            await connection.executemany(sql.insert, rows)

    async def c(self, w: Work, clock: Clock) -> int:
        sql, model = self.sql[self.shape], MODELS[self.shape]
        sample = model(level=LEVELS[0], text="").model_dump()
        # every column after timestamp, level and text: its default, ready to send
        rest = tuple(
            json.dumps(sample[c]) if c in sql.json_columns and sample[c] is not None
            else sample[c]
            for c in sql.columns[3:]
        )
        assert sql.columns[:3] == ["timestamp", "level", "text"]
        width = len(sql.columns)
        n = w.per_task
        values = ", ".join(
            "(" + ", ".join(f"${r * width + k + 1}" for k in range(width)) + ")" for r in range(n)
        )
        statement = f"INSERT INTO {TABLES[self.shape]} ({', '.join(sql.columns)}) VALUES {values}"
        pool = self.pool

        async def task(n: int) -> int:
            arguments: list[Any] = []
            for i in range(n):
                row = w.row(i, "C")
                arguments += (datetime.now(UTC), row["level"], row["text"], *rest)
            async with pool.acquire() as connection:
                await connection.execute(statement, *arguments)
            return n

        return await timed(clock, (task(n) for _ in range(w.concurrency)))

    async def _writes(self, w: Work, clock: Clock, arguments: Callable[[Any], tuple[Any, ...]],
                      statement: str) -> int:
        async with self.pool.acquire() as connection:
            slices = w.split(await connection.fetch(f"SELECT * FROM {TABLES[self.shape]}"))
        pool = self.pool

        async def task(rows: Sequence[Any]) -> int:
            async with pool.acquire() as connection, connection.transaction():
                for row in rows:
                    await connection.execute(statement, *arguments(row))
            return len(rows)

        return await timed(clock, (task(rows) for rows in slices))

    async def i(self, w: Work, clock: Clock) -> int:
        sql = self.sql[self.shape]

        def arguments(row: Any) -> tuple[Any, ...]:
            changed = whole_row(dict(row))
            return (*(changed[c] for c in sql.columns), row["id"])

        return await self._writes(w, clock, arguments, sql.update_all)

    async def j(self, w: Work, clock: Clock) -> int:
        sql = self.sql[self.shape]
        return await self._writes(
            w, clock, lambda row: (choice(LEVELS), row["id"]), sql.update_level
        )

    async def k(self, w: Work, clock: Clock) -> int:
        sql = self.sql[self.shape]
        return await self._writes(w, clock, lambda row: (row["id"],), sql.delete)
