"""benchmarks/orm_ops.py: the workload, what every side has in common, and the library's
side. Plain SQLModel and raw asyncpg are in _orm_ops_baselines.py, Tortoise ORM and Piccolo
in _orm_ops_peers.py.

Every side implements the operations it takes part in as methods named after the letter
(`a` ... `k`); each prepares what the operation needs (untimed), then runs 10 concurrent
tasks inside `clock` and returns the number of rows the tasks handled.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from random import choice, randint, randrange
from time import perf_counter
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from sqlmodel_async import Database, Repository
from sqlmodel_async.reader import Reader

from ._orm_ops_models import LEVELS, MODELS, READS, TABLES

#: Every side's pool: 10 connections, as many as the concurrent tasks.
POOL = 10


@dataclass(frozen=True)
class Target:
    """One backend: the SQLAlchemy URL of its server, or the folder of SQLite files (one
    file per side, so that one side's locks never hold another up)."""

    backend: str
    url: str = ""
    sqlite_dir: Path | None = None

    def url_for(self, side: str) -> str:
        if self.sqlite_dir is not None:
            return f"sqlite+aiosqlite:///{self.sqlite_dir / f'{side}.db'}"
        return self.url

    def sqlite_file(self, side: str) -> Path:
        assert self.sqlite_dir is not None
        return self.sqlite_dir / f"{side}.db"


@dataclass(frozen=True)
class Work:
    """The suite's sizes for `rows` (its ITERATIONS): A, B and C insert `rows` each."""

    rows: int
    concurrency: int = 10

    @property
    def per_task(self) -> int:
        return self.rows // self.concurrency

    @property
    def e_iterations(self) -> int:
        return max(1, self.rows // 10 // self.concurrency)

    @property
    def gets_per_task(self) -> int:
        return 2 * self.rows // self.concurrency

    def row(self, i: int, op: str) -> dict[str, Any]:
        return {"level": choice(LEVELS), "text": f"Insert from {op}, item {i}"}

    def offset(self) -> int:
        return randrange(max(1, self.rows - 20))

    def key(self) -> int:
        return randint(1, max(1, self.rows - 1))

    def split(self, items: Sequence[Any]) -> list[Sequence[Any]]:
        """`items` in `concurrency` slices (every item in one of them)."""
        size = -(-len(items) // self.concurrency)
        return [items[i * size : (i + 1) * size] for i in range(self.concurrency)]


class Clock:
    """`with clock:` around the timed part of an operation."""

    seconds = 0.0

    def __enter__(self) -> Clock:
        self._start = perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.seconds = perf_counter() - self._start


async def timed(clock: Clock, tasks: Iterable[Awaitable[int]]) -> int:
    work = list(tasks)  # coroutine objects made before the clock starts
    with clock:
        counts = await asyncio.gather(*work)
    return sum(counts)


class Side:
    key = ""
    label = ""
    ops: tuple[str, ...] = tuple("ABCDEFGHIJK")
    backends: tuple[str, ...] = ("postgresql", "mariadb", "sqlite")

    def __init__(self) -> None:
        self.shape = 1
        #: Which call each operation went through, where the library offers several.
        self.paths: dict[str, str] = {}

    async def start(self, target: Target) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    def table(self, shape: int) -> str:
        return TABLES[shape]

    def use(self, shape: int) -> None:
        self.shape = shape

    async def fill(self, work: Work) -> None:
        """Rows for the operations of a side that does not insert them itself."""


async def create_tables(engine: AsyncEngine) -> None:
    tables = [model.__table__ for model in MODELS.values()]  # type: ignore[attr-defined]
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: SQLModel.metadata.drop_all(sync, tables=tables[::-1])
        )
        await connection.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=tables))


def whole_row(values: dict[str, Any]) -> dict[str, Any]:
    """The I operation's change: every column but the key, level and text changed."""
    changed = {name: value for name, value in values.items() if name != "id"}
    changed["level"] = choice(LEVELS)
    changed["text"] = f"{values['text']} Update"
    return changed


# --- this library -------------------------------------------------------------------------


class Library(Side):
    """The documented calls: `Repository.create/update/delete` in `db.transaction()`,
    `create_many`, `list`, `get`; dict and tuple reads through `rows`/`tuples` where the
    library has them (else `stream_rows`); schema reads through `db.reader()`. The
    `Database` has its default pool."""

    key = "library"
    label = "sqlmodel-async"
    ops = (*"ABCDEFGHIJK", "D*", "F*")

    async def start(self, target: Target) -> None:
        self.db = Database(target.url_for(self.key))
        await create_tables(self.db.engine)

    async def stop(self) -> None:
        await self.db.dispose()

    @property
    def model(self) -> Any:
        return MODELS[self.shape]

    async def a(self, w: Work, clock: Clock) -> int:
        model, db = self.model, self.db

        async def task(n: int) -> int:
            for i in range(n):
                async with db.transaction() as session:
                    await Repository(model, session).create(w.row(i, "A"))
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def b(self, w: Work, clock: Clock) -> int:
        model, db = self.model, self.db

        async def task(n: int) -> int:
            async with db.transaction() as session:
                repository = Repository(model, session)
                for i in range(n):
                    await repository.create(w.row(i, "B"))
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def c(self, w: Work, clock: Clock) -> int:
        model, db = self.model, self.db

        async def task(n: int) -> int:
            async with db.transaction() as session:
                await Repository(model, session).create_many([w.row(i, "C") for i in range(n)])
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def d(self, w: Work, clock: Clock) -> int:
        model, db = self.model, self.db

        async def task() -> int:
            count = 0
            async with db.session() as session:
                repository = Repository(model, session)
                for level in LEVELS:
                    count += len(await repository.list(level=level, order_by=()))
            return count

        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def e(self, w: Work, clock: Clock) -> int:
        model, db = self.model, self.db

        async def task() -> int:
            count = 0
            async with db.session() as session:
                repository = Repository(model, session)
                for _ in range(w.e_iterations):
                    for level in LEVELS:
                        count += len(
                            await repository.list(
                                level=level, limit=20, offset=w.offset(), order_by=()
                            )
                        )
            return count

        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def f(self, w: Work, clock: Clock) -> int:
        model, db = self.model, self.db

        async def task(n: int) -> int:
            for _ in range(n):
                async with db.session() as session:  # one per get: no identity-map hits
                    await Repository(model, session).get(w.key())
            return n

        return await timed(clock, (task(w.gets_per_task) for _ in range(w.concurrency)))

    def _filtered(self, repository: Any, kind: str) -> Callable[[int], Awaitable[list[Any]]]:
        """Rows of one level as dicts (`kind="rows"`) or tuples (`"tuples"`), through the
        library's own call for it if it has one."""
        for owner, where in ((repository, "Repository"), (_projected(repository, self.shape),
                                                           "Projected")):
            method = getattr(owner, kind, None) if owner is not None else None
            if callable(method):
                self.paths[kind] = f"{where}.{kind}"
                return lambda level: method(level=level)
        self.paths[kind] = "stream_rows"
        model = self.model
        streamed = repository.stream_rows
        batch_first = next(iter(inspect.signature(streamed).parameters)) == "batch_size"

        async def through_stream(level: int) -> list[Any]:
            clause = model.level == level
            rows = streamed(10_000, clause) if batch_first else streamed(clause, batch_size=10_000)
            found = [row async for row in rows]
            return found if kind == "rows" else [tuple(row.values()) for row in found]

        return through_stream

    async def _read_all(self, w: Work, clock: Clock, kind: str) -> int:
        model, db = self.model, self.db

        async def task() -> int:
            count = 0
            async with db.session() as session:
                read = self._filtered(Repository(model, session), kind)
                for level in LEVELS:
                    count += len(await read(level))
            return count

        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def g(self, w: Work, clock: Clock) -> int:
        return await self._read_all(w, clock, "rows")

    async def h(self, w: Work, clock: Clock) -> int:
        return await self._read_all(w, clock, "tuples")

    async def d_schema(self, w: Work, clock: Clock) -> int:
        """D as schemas (what a read endpoint returns), through `db.reader()`."""
        model, db, schema = self.model, self.db, READS[self.shape]

        async def task() -> int:
            count = 0
            async with db.reader() as reader:
                for level in LEVELS:
                    count += len(await _reader_list(reader, model, schema, level))
            return count

        self.paths["D*"] = "Reader.project().list" if hasattr(Reader, "project") else (
            "Reader.list(as_=)"
        )
        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def f_schema(self, w: Work, clock: Clock) -> int:
        model, db, schema = self.model, self.db, READS[self.shape]

        async def task(n: int) -> int:
            for _ in range(n):
                async with db.reader() as reader:
                    await _reader_get(reader, model, schema, w.key())
            return n

        self.paths["F*"] = "Reader.project().get" if hasattr(Reader, "project") else (
            "Reader.get(as_=)"
        )
        return await timed(clock, (task(w.gets_per_task) for _ in range(w.concurrency)))

    async def _loaded(self) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            return [row.model_dump() for row in await Repository(self.model, session).list()]

    async def _writes(
        self, w: Work, clock: Clock, write: Callable[[Any, dict[str, Any]], Awaitable[Any]]
    ) -> int:
        model, db = self.model, self.db
        slices = w.split(await self._loaded())

        async def task(rows: Sequence[dict[str, Any]]) -> int:
            async with db.transaction() as session:
                repository = Repository(model, session)
                for row in rows:
                    await write(repository, row)
            return len(rows)

        return await timed(clock, (task(rows) for rows in slices))

    async def i(self, w: Work, clock: Clock) -> int:
        return await self._writes(
            w, clock, lambda repo, row: repo.update(row["id"], whole_row(row))
        )

    async def j(self, w: Work, clock: Clock) -> int:
        return await self._writes(
            w, clock, lambda repo, row: repo.update(row["id"], {"level": choice(LEVELS)})
        )

    async def k(self, w: Work, clock: Clock) -> int:
        return await self._writes(w, clock, lambda repo, row: repo.delete(row["id"]))


def _projected(repository: Any, shape: int) -> Any:
    project = getattr(repository, "project", None)
    return project(READS[shape]) if callable(project) else None


async def _reader_list(reader: Any, model: Any, schema: Any, level: int) -> list[Any]:
    if hasattr(reader, "project"):
        return await reader.project(model, schema).list(level=level)  # type: ignore[no-any-return]
    return await reader.list(model, level=level, as_=schema)  # type: ignore[no-any-return]


async def _reader_get(reader: Any, model: Any, schema: Any, key: int) -> Any:
    if hasattr(reader, "project"):
        return await reader.project(model, schema).get(key)
    return await reader.get(model, key, as_=schema)
