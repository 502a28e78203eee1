"""The statements bulk writes send, per backend strategy (`Backend.bulk_arrays`,
`Backend.update_from`, `Backend.upsert`, `Backend.upsert_insert`).

Identifiers come from the model's table (quoted by the dialect), never from input keys;
every value is a bound parameter. Driver-level statements (executemany, multi-row VALUES)
are compiled once per column set and kept on the TablePlan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from .bulk_rows import TablePlan
from .dialects import Backend

_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class StatementBuilder:
    """The bulk statements of one table for one dialect and Backend (one per model and
    dialect, kept on the TablePlan), and the driver values their parameters take."""

    def __init__(self, plan: TablePlan, dialect: Dialect, backend: Backend) -> None:
        self.plan = plan
        self.dialect = dialect
        self.backend = backend
        self.max_params = backend.max_params
        self._quote = dialect.identifier_preparer.quote
        self._version = (dialect.name, getattr(dialect, "server_version_info", None))

    # --- parameters ------------------------------------------------------------------

    def tuples(self, keys: Sequence[str], columns: list[list[Any]]) -> list[tuple[Any, ...]]:
        """Rows as positional tuples of driver values (SQLAlchemy's bind processing done
        column by column, as `execute()` would do it row by row)."""
        processed = []
        for key, values in zip(keys, columns, strict=True):
            process = self._processor(key)
            processed.append([process(v) for v in values] if process else values)
        return list(zip(*processed, strict=True))

    def records(self, keys: Sequence[str], columns: list[list[Any]]) -> list[tuple[Any, ...]]:
        """Rows for COPY: the same driver values an INSERT would bind."""
        return self.tuples(keys, columns)

    def arrays(self, keys: Sequence[str], columns: list[list[Any]]) -> dict[str, list[Any]]:
        return {f"p{i}": values for i, values in enumerate(columns)}

    def _processor(self, key: str) -> Callable[[Any], Any] | None:
        cache_key = ("bind", self._version, key)
        if cache_key not in self.plan.cache:
            column_type = self.plan.column(key).type
            self.plan.cache[cache_key] = column_type.dialect_impl(self.dialect).bind_processor(
                self.dialect
            )
        processor: Callable[[Any], Any] | None = self.plan.cache[cache_key]
        return processor

    # --- one array per column (`Backend.bulk_arrays`) -----------------------------------

    def _unnest(self, keys: Sequence[str], *, ordinality: bool = False) -> Any:
        arrays = []
        for i, key in enumerate(keys):
            array_type = sa.ARRAY(self.plan.column(key).type)
            arrays.append(sa.cast(sa.bindparam(f"p{i}", type_=array_type), array_type))
        names = [f"c{i}" for i in range(len(keys))]
        function = sa.func.unnest(*arrays)
        if ordinality:
            return function.table_valued(*names, with_ordinality="n").render_derived(name="v")
        return function.table_valued(*names).render_derived(name="v")

    def insert_arrays(self, keys: Sequence[str], *, returning: bool = False) -> Any:
        source = self._unnest(keys, ordinality=returning)
        select = sa.select(*(source.c[f"c{i}"] for i in range(len(keys))))
        table_columns = [self.plan.column(key) for key in keys]
        if not returning:
            return sa.insert(self.plan.table).from_select(table_columns, select)
        # Rows go in in input order, so the sequence hands out keys in that order.
        select = select.order_by(source.c.n)
        key_column = self.plan.column(self.plan.single_pk)
        return sa.insert(self.plan.table).from_select(table_columns, select).returning(key_column)

    def insert_arrays_text(self, keys: Sequence[str], *, returning: bool = False) -> str:
        """`insert_arrays` compiled once per column set, for the driver itself: a small
        call then pays no statement building or compile-cache lookup."""
        what = ("insert_arrays", tuple(keys), returning)
        text: str | None = self.plan.cache.get((*what, self._version))
        if text is None:
            text = self._compiled(what, self.insert_arrays(keys, returning=returning), keys)
        return text

    def processed(self, keys: Sequence[str], columns: list[list[Any]]) -> tuple[list[Any], ...]:
        """One driver-value array per column (bind processing done as `tuples` does it)."""
        out = []
        for key, values in zip(keys, columns, strict=True):
            process = self._processor(key)
            out.append([process(v) for v in values] if process else values)
        return tuple(out)

    def update_arrays(self, keys: Sequence[str]) -> Any:
        source = self._unnest(keys)
        table = self.plan.table
        sets = {
            self.plan.column(key): source.c[f"c{i}"]
            for i, key in enumerate(keys) if key not in self.plan.pk
        }
        if self.plan.version is not None and self.plan.bumps_version([c.key for c in sets]):
            version = self.plan.column(self.plan.version)
            sets[version] = version + sa.literal_column("1")
        match = [
            self.plan.column(key) == source.c[f"c{i}"]
            for i, key in enumerate(keys) if key in self.plan.pk
        ]
        return sa.update(table).values(sets).where(*match)

    def upsert_arrays(
        self, keys: Sequence[str], target: Sequence[str], sets: Sequence[str]
    ) -> Any:
        source = self._unnest(keys)
        select = sa.select(*(source.c[f"c{i}"] for i in range(len(keys))))
        columns = [self.plan.column(key) for key in keys]
        statement = self.backend.upsert_insert(self.plan.table).from_select(columns, select)
        return self._on_conflict(statement, target, sets)

    # --- driver-level statements (executemany, multi-row VALUES) ------------------------

    def insert_one(self, keys: Sequence[str]) -> str:
        """A one-row INSERT for executemany (asyncmy turns it into multi-row VALUES)."""
        return self._compiled(("insert", keys), sa.insert(self.plan.table), keys)

    def upsert_one(self, keys: Sequence[str], target: Sequence[str], sets: Sequence[str]) -> str:
        statement = self.backend.upsert_insert(self.plan.table)
        statement = self._on_conflict(statement.values(self._binds(keys)), target, sets)
        return self._compiled(("upsert", keys, tuple(target), tuple(sets)), statement, keys)

    def insert_values_returning(self, keys: Sequence[str], rows: int) -> str:
        """INSERT ... VALUES (...), (...) RETURNING key, for `rows` rows."""
        cache_key = ("insert_returning", self._version, tuple(keys), rows)
        statement: str | None = self.plan.cache.get(cache_key)
        if statement is None:
            mark = _PLACEHOLDER[self.dialect.paramstyle]
            row = "(" + ", ".join([mark] * len(keys)) + ")"
            columns = ", ".join(self._quote(self.plan.column(key).name) for key in keys)
            key_column = self._quote(self.plan.column(self.plan.single_pk).name)
            statement = (
                f"INSERT INTO {self._table()} ({columns}) VALUES "
                + ", ".join([row] * rows)
                + f" RETURNING {key_column}"
            )
            self.plan.cache[cache_key] = statement
        return statement

    def update_values(self, keys: Sequence[str], rows: int) -> str:
        """One UPDATE for `rows` rows, joined to them by the primary key: a VALUES list
        (SQLite `UPDATE ... FROM`) or a UNION ALL derived table (MariaDB/MySQL JOIN)."""
        cache_key = ("update", self._version, tuple(keys), rows)
        statement: str | None = self.plan.cache.get(cache_key)
        if statement is not None:
            return statement
        mark = _PLACEHOLDER[self.dialect.paramstyle]
        aliases = [f"c{i}" for i in range(len(keys))]
        name = {key: self._quote(self.plan.column(key).name) for key in keys}
        pk = [(name[key], alias) for key, alias in zip(keys, aliases, strict=True)
              if key in self.plan.pk]
        sets = [(key, alias) for key, alias in zip(keys, aliases, strict=True)
                if key not in self.plan.pk]
        table = self._table()
        version = self.plan.version
        bump = (
            self._quote(self.plan.column(version).name)
            if version is not None and self.plan.bumps_version([key for key, _ in sets])
            else None
        )
        if self.backend.update_from == "values":
            # SQLite names a VALUES list's columns column1, column2, ... (a WITH prefix
            # would be neater, but Python's sqlite3 then reports no rowcount).
            row = "(" + ", ".join([mark] * len(keys)) + ")"
            named = {alias: f"column{i + 1}" for i, alias in enumerate(aliases)}
            assignments = [f"{name[k]} = v.{named[a]}" for k, a in sets]
            assignments += [f"{bump} = {bump} + 1"] if bump else []
            statement = (
                f"UPDATE {table} SET {', '.join(assignments)} "
                f"FROM (VALUES {', '.join([row] * rows)}) AS v "
                f"WHERE {' AND '.join(f'{table}.{c} = v.{named[a]}' for c, a in pk)}"
            )
        else:  # "union_join"
            first = ", ".join(f"{mark} AS {alias}" for alias in aliases)
            other = " UNION ALL SELECT " + ", ".join([mark] * len(keys))
            assignments = [f"t.{name[k]} = v.{a}" for k, a in sets]
            assignments += [f"t.{bump} = t.{bump} + 1"] if bump else []
            statement = (
                f"UPDATE {table} AS t JOIN (SELECT {first}{other * (rows - 1)}) AS v "
                f"ON {' AND '.join(f't.{c} = v.{a}' for c, a in pk)} "
                f"SET {', '.join(assignments)}"
            )
        self.plan.cache[cache_key] = statement
        return statement

    # --- shared ----------------------------------------------------------------------

    def _on_conflict(self, statement: Any, target: Sequence[str], sets: Sequence[str]) -> Any:
        bump: dict[str, Any] = {}
        if self.plan.version is not None and self.plan.bumps_version(sets):
            version = self.plan.column(self.plan.version)
            # The existing row's version; an inline 1, not one more bound parameter.
            bump = {version.key: version + sa.literal_column("1")}
        if self.backend.upsert == "on_duplicate_key":
            # MariaDB/MySQL have no conflict target: any unique key that collides updates.
            if not sets:  # "do nothing": a no-op assignment
                column = self.plan.column(target[0])
                return statement.on_duplicate_key_update({column.key: column})
            return statement.on_duplicate_key_update(
                {self.plan.column(key).key: statement.inserted[self.plan.column(key).key]
                 for key in sets} | bump
            )
        index = [self.plan.column(key) for key in target]
        if not sets:
            return statement.on_conflict_do_nothing(index_elements=index)
        return statement.on_conflict_do_update(
            index_elements=index,
            set_={self.plan.column(key).key: statement.excluded[self.plan.column(key).key]
                  for key in sets} | bump,
        )

    def _binds(self, keys: Sequence[str]) -> dict[Any, Any]:
        return {self.plan.column(key): sa.bindparam(f"p{i}") for i, key in enumerate(keys)}

    def _compiled(self, what: tuple[Any, ...], statement: Any, keys: Sequence[str]) -> str:
        cache_key = (*what, self._version)
        text: str | None = self.plan.cache.get(cache_key)
        if text is None:
            if what[0] == "insert":
                statement = statement.values(self._binds(keys))
            compiled = statement.compile(dialect=self.dialect)
            expected = [f"p{i}" for i in range(len(keys))]
            if list(compiled.positiontup or ()) != expected:
                raise RuntimeError(f"unexpected parameters in {compiled}")
            text = str(compiled)
            self.plan.cache[cache_key] = text
        return text

    def _table(self) -> str:
        return str(self.dialect.identifier_preparer.format_table(self.plan.table))
