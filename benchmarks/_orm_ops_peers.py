"""benchmarks/orm_ops.py: Tortoise ORM and Piccolo, each operation written the way their
own entries of Tortoise's orm-benchmarks suite write it (see the table in
docs/benchmarks.md). Both are optional (the `bench` extra): a side whose package is missing
is left out of the run, with a note."""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import make_url

from ._orm_ops_models import JSON_DEFAULT, LEVELS, TEXT_DEFAULT
from ._orm_ops_sides import POOL, Clock, Side, Target, Work, timed

# --- Tortoise ORM -------------------------------------------------------------------------


def _tortoise_url(target: Target) -> str:
    if target.sqlite_dir is not None:
        return f"sqlite://{target.sqlite_file('tortoise')}"
    url = make_url(target.url)
    scheme = "postgres" if target.backend == "postgresql" else "mysql"  # mysql: asyncmy
    auth = url.username or ""
    if url.password:
        auth += f":{url.password}"
    return (
        f"{scheme}://{auth}@{url.host}:{url.port}/{url.database}"
        f"?minsize={POOL}&maxsize={POOL}"
    )


class TortoiseSide(Side):
    """`Model.create`, `in_transaction()`, `bulk_create`, `filter().limit().offset()`,
    `get`, `values()`, `values_list()`, `obj.save()`, `save(update_fields=)`,
    `obj.delete()`. Pool of 10 on PostgreSQL (asyncpg) and MariaDB (asyncmy); Tortoise's
    one connection on SQLite."""

    key = "tortoise"
    label = "Tortoise ORM"

    async def start(self, target: Target) -> None:
        from tortoise import Tortoise

        from ._orm_ops_tortoise import TORTOISE_TABLES

        # A connection named after the backend: Tortoise caches each model's statements
        # by connection name, and the same models run on every backend in one process.
        await Tortoise.init(config={
            "connections": {target.backend: _tortoise_url(target)},
            "apps": {"models": {"models": ["benchmarks._orm_ops_tortoise"],
                                "default_connection": target.backend}},
        })
        connection = Tortoise.get_connection(target.backend)
        cascade = " CASCADE" if target.backend == "postgresql" else ""
        for table in reversed(TORTOISE_TABLES.values()):
            await connection.execute_script(f"DROP TABLE IF EXISTS {table}{cascade}")
        await Tortoise.generate_schemas(safe=True)

    async def stop(self) -> None:
        from tortoise import Tortoise

        await Tortoise.close_connections()
        reset = getattr(Tortoise, "_reset_apps", None)  # so that init() may run again
        if reset is not None:
            await reset()

    def table(self, shape: int) -> str:
        from ._orm_ops_tortoise import TORTOISE_TABLES

        return TORTOISE_TABLES[shape]

    @property
    def model(self) -> Any:
        from ._orm_ops_tortoise import TORTOISE_MODELS

        return TORTOISE_MODELS[self.shape]

    async def a(self, w: Work, clock: Clock) -> int:
        model = self.model

        async def task(n: int) -> int:
            for i in range(n):
                await model.create(**w.row(i, "A"))
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def b(self, w: Work, clock: Clock) -> int:
        from tortoise.transactions import in_transaction

        model = self.model

        async def task(n: int) -> int:
            async with in_transaction():
                for i in range(n):
                    await model.create(**w.row(i, "B"))
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def c(self, w: Work, clock: Clock) -> int:
        model = self.model

        async def task(n: int) -> int:
            await model.bulk_create([model(**w.row(i, "C")) for i in range(n)])
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def _filter(
        self, w: Work, clock: Clock, iterations: int, query: Callable[[Any, int], Any]
    ) -> int:
        model = self.model

        async def task() -> int:
            count = 0
            for _ in range(iterations):
                for level in LEVELS:
                    count += len(list(await query(model, level)))
            return count

        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def d(self, w: Work, clock: Clock) -> int:
        return await self._filter(w, clock, 1, lambda m, level: m.filter(level=level).all())

    async def e(self, w: Work, clock: Clock) -> int:
        return await self._filter(
            w, clock, w.e_iterations,
            lambda m, level: m.filter(level=level).limit(20).offset(w.offset()),
        )

    async def f(self, w: Work, clock: Clock) -> int:
        model = self.model

        async def task(n: int) -> int:
            for _ in range(n):
                await model.get(id=w.key())
            return n

        return await timed(clock, (task(w.gets_per_task) for _ in range(w.concurrency)))

    async def g(self, w: Work, clock: Clock) -> int:
        return await self._filter(w, clock, 1, lambda m, level: m.filter(level=level).values())

    async def h(self, w: Work, clock: Clock) -> int:
        return await self._filter(
            w, clock, 1, lambda m, level: m.filter(level=level).values_list()
        )

    async def _saves(self, w: Work, clock: Clock, change: Callable[[Any], Awaitable[Any]]) -> int:
        from tortoise.transactions import in_transaction

        slices = w.split(list(await self.model.all()))

        async def task(objects: Sequence[Any]) -> int:
            async with in_transaction():
                for obj in objects:
                    await change(obj)
            return len(objects)

        return await timed(clock, (task(objects) for objects in slices))

    async def i(self, w: Work, clock: Clock) -> int:
        from random import choice

        def change(obj: Any) -> Awaitable[Any]:
            obj.level = choice(LEVELS)
            obj.text = f"{obj.text} Update"
            return obj.save()  # type: ignore[no-any-return]

        return await self._saves(w, clock, change)

    async def j(self, w: Work, clock: Clock) -> int:
        from random import choice

        def change(obj: Any) -> Awaitable[Any]:
            obj.level = choice(LEVELS)
            return obj.save(update_fields=["level"])  # type: ignore[no-any-return]

        return await self._saves(w, clock, change)

    async def k(self, w: Work, clock: Clock) -> int:
        return await self._saves(w, clock, lambda obj: obj.delete())


# --- Piccolo ------------------------------------------------------------------------------

PICCOLO_TABLES = {1: "ormops_piccolo1", 2: "ormops_piccolo2", 3: "ormops_piccolo3"}


def _piccolo_tables(engine: Any) -> dict[int, Any]:
    from piccolo.columns import (
        JSON,
        JSONB,
        BigInt,
        DoublePrecision,
        ForeignKey,
        Integer,
        Numeric,
        SmallInt,
        Text,
        Timestamp,
        Varchar,
    )
    from piccolo.columns.defaults.timestamp import TimestampNow
    from piccolo.engine.postgres import PostgresEngine
    from piccolo.table import Table

    json_type = JSONB if isinstance(engine, PostgresEngine) else JSON

    def base() -> dict[str, Any]:
        return {
            "timestamp": Timestamp(default=TimestampNow()),
            "level": SmallInt(index=True),
            "text": Varchar(length=255, index=True),
        }

    wide: dict[str, Any] = {}
    for n in (1, 2, 3, 4):
        if n % 2:
            wide.update({
                f"col_float{n}": DoublePrecision(default=2.2),
                f"col_smallint{n}": SmallInt(default=2),
                f"col_int{n}": Integer(default=2_000_000),
                f"col_bigint{n}": BigInt(default=99_999_999),
                f"col_char{n}": Varchar(length=255, default="value1"),
                f"col_text{n}": Text(default=TEXT_DEFAULT),
                f"col_decimal{n}": Numeric(digits=(12, 8), default=Decimal("2.2")),
                f"col_json{n}": json_type(default=dict(JSON_DEFAULT)),
            })
        else:
            wide.update({
                f"col_float{n}": DoublePrecision(null=True, default=None),
                f"col_smallint{n}": SmallInt(null=True, default=None),
                f"col_int{n}": Integer(null=True, default=None),
                f"col_bigint{n}": BigInt(null=True, default=None),
                f"col_char{n}": Varchar(length=255, null=True, default=None),
                f"col_text{n}": Text(null=True, default=None),
                f"col_decimal{n}": Numeric(digits=(12, 8), null=True, default=None),
                f"col_json{n}": json_type(null=True, default=None),
            })
    columns = {
        1: base(),
        2: {**base(), "parent": ForeignKey(references="self", null=True, default=None)},
        3: {**base(), **wide},
    }
    return {
        shape: types.new_class(
            f"PJournal{shape}", (Table,),
            {"db": engine, "tablename": PICCOLO_TABLES[shape]},
            lambda namespace, c=cols: namespace.update(c),  # type: ignore[misc]
        )
        for shape, cols in columns.items()
    }


class PiccoloSide(Side):
    """`Table(...).save()`, `engine.transaction()`, `Table.insert(*rows)`,
    `objects().where()`, `.limit().offset()`, `objects().get()`, `select()` (dicts; tuples
    made from them: Piccolo has no tuple output), `obj.save()`, `save(columns=)`,
    `obj.remove()`. Pool of 10 on PostgreSQL; a connection per query on SQLite (Piccolo's
    design), transactions `BEGIN IMMEDIATE` there. Piccolo does not support MySQL/MariaDB."""

    key = "piccolo"
    label = "Piccolo"
    backends = ("postgresql", "sqlite")

    async def start(self, target: Target) -> None:
        if target.sqlite_dir is not None:
            from piccolo.engine.sqlite import SQLiteEngine

            self.engine: Any = SQLiteEngine(path=str(target.sqlite_file(self.key)))
            self.pooled = False
        else:
            from piccolo.engine.postgres import PostgresEngine

            url = make_url(target.url)
            self.engine = PostgresEngine(config={
                "host": url.host, "port": url.port, "database": url.database,
                "user": url.username, "password": url.password or "",
            })
            await self.engine.start_connection_pool(min_size=POOL, max_size=POOL)
            self.pooled = True
        self.tables = _piccolo_tables(self.engine)
        postgres = target.sqlite_dir is None
        for shape in (3, 2, 1):
            await self.tables[shape].alter().drop_table(cascade=postgres, if_exists=True)
        for shape in (1, 2, 3):
            await self.tables[shape].create_table(if_not_exists=True)

    async def stop(self) -> None:
        if self.pooled:
            await self.engine.close_connection_pool()

    def table(self, shape: int) -> str:
        return PICCOLO_TABLES[shape]

    def _transaction(self) -> Any:
        from piccolo.engine.sqlite import SQLiteEngine, TransactionType

        if isinstance(self.engine, SQLiteEngine):
            return self.engine.transaction(transaction_type=TransactionType.immediate)
        return self.engine.transaction()

    async def a(self, w: Work, clock: Clock) -> int:
        table = self.tables[self.shape]

        async def task(n: int) -> int:
            for i in range(n):
                await table(**w.row(i, "A")).save()
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def b(self, w: Work, clock: Clock) -> int:
        table = self.tables[self.shape]

        async def task(n: int) -> int:
            async with self._transaction():
                for i in range(n):
                    await table(**w.row(i, "B")).save()
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def c(self, w: Work, clock: Clock) -> int:
        table = self.tables[self.shape]

        async def task(n: int) -> int:
            await table.insert(*[table(**w.row(i, "C")) for i in range(n)])
            return n

        return await timed(clock, (task(w.per_task) for _ in range(w.concurrency)))

    async def _where(
        self, w: Work, clock: Clock, iterations: int, query: Callable[[Any, int], Any],
        shape_rows: Callable[[Any], Any] = list,
    ) -> int:
        table = self.tables[self.shape]

        async def task() -> int:
            count = 0
            for _ in range(iterations):
                for level in LEVELS:
                    count += len(shape_rows(await query(table, level)))
            return count

        return await timed(clock, (task() for _ in range(w.concurrency)))

    async def d(self, w: Work, clock: Clock) -> int:
        return await self._where(w, clock, 1, lambda t, level: t.objects().where(t.level == level))

    async def e(self, w: Work, clock: Clock) -> int:
        return await self._where(
            w, clock, w.e_iterations,
            lambda t, level: t.objects().where(t.level == level).limit(20).offset(w.offset()),
        )

    async def f(self, w: Work, clock: Clock) -> int:
        table = self.tables[self.shape]

        async def task(n: int) -> int:
            for _ in range(n):
                await table.objects().get(table.id == w.key())
            return n

        return await timed(clock, (task(w.gets_per_task) for _ in range(w.concurrency)))

    async def g(self, w: Work, clock: Clock) -> int:
        return await self._where(w, clock, 1, lambda t, level: t.select().where(t.level == level))

    async def h(self, w: Work, clock: Clock) -> int:
        return await self._where(
            w, clock, 1, lambda t, level: t.select().where(t.level == level),
            lambda rows: [tuple(row.values()) for row in rows],
        )

    async def _saves(self, w: Work, clock: Clock, change: Callable[[Any], Awaitable[Any]]) -> int:
        slices = w.split(list(await self.tables[self.shape].objects()))

        async def task(objects: Sequence[Any]) -> int:
            async with self._transaction():
                for obj in objects:
                    await change(obj)
            return len(objects)

        return await timed(clock, (task(objects) for objects in slices))

    async def i(self, w: Work, clock: Clock) -> int:
        from random import choice

        def change(obj: Any) -> Awaitable[Any]:
            obj.level = choice(LEVELS)
            obj.text = f"{obj.text} Update"
            return obj.save()  # type: ignore[no-any-return]

        return await self._saves(w, clock, change)

    async def j(self, w: Work, clock: Clock) -> int:
        from random import choice

        table = self.tables[self.shape]

        def change(obj: Any) -> Awaitable[Any]:
            obj.level = choice(LEVELS)
            return obj.save(columns=[table.level])  # type: ignore[no-any-return]

        return await self._saves(w, clock, change)

    async def k(self, w: Work, clock: Clock) -> int:
        return await self._saves(w, clock, lambda obj: obj.remove())
