"""Counting the statements a block runs on a Database (the pytest plugin's
`assert_max_queries`, and `max_queries` for tests that count without the fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from .database import Database

__all__ = ["QueryLog", "QueryRecorder", "max_queries", "recorder_for"]

# Statements that open or close (sub)transactions; they are not queries an app makes.
_TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|START\s+TRANSACTION)\b", re.IGNORECASE
)


class QueryLog:
    """The statements run on a Database's engine while the log is open."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        return "\n".join(f"  {n}. {sql}" for n, sql in enumerate(self.statements, 1))


class QueryRecorder:
    """Hands each statement of one engine to the open `QueryLog`s (transaction control
    statements such as BEGIN and SAVEPOINT are not counted).

    It listens to the engine only while a log is open: a listener makes the library send
    every statement through SQLAlchemy (so that it is seen), and the code under test
    should otherwise run as it runs in production."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.logs: list[QueryLog] = []

    def _record(
        self, _conn: Connection, _cursor: Any, statement: str, *_args: Any, **_kw: Any
    ) -> None:
        if self.logs and not _TRANSACTION_CONTROL.match(statement):
            text = " ".join(statement.split())
            for log in self.logs:
                log.statements.append(text)

    @contextmanager
    def record(self) -> Iterator[QueryLog]:
        log = QueryLog()
        if not self.logs:
            event.listen(self.engine, "before_cursor_execute", self._record)
        self.logs.append(log)
        try:
            yield log
        finally:
            self.logs.remove(log)
            if not self.logs:
                self.close()

    def close(self) -> None:
        """Stop listening to the engine (open logs record nothing more)."""
        if event.contains(self.engine, "before_cursor_execute", self._record):
            event.remove(self.engine, "before_cursor_execute", self._record)


_recorders: WeakKeyDictionary[Engine, QueryRecorder] = WeakKeyDictionary()


def recorder_for(database: Database) -> QueryRecorder:
    """The query recorder of `database` (attached on first use)."""
    engine = database.engine.sync_engine
    recorder = _recorders.get(engine)
    if recorder is None:
        recorder = _recorders[engine] = QueryRecorder(engine)
    return recorder


@contextmanager
def max_queries(database: Database, limit: int) -> Iterator[QueryLog]:
    """Fail when the block runs more than `limit` statements on `database`."""
    with recorder_for(database).record() as log:
        yield log
    if len(log) > limit:
        raise AssertionError(
            f"expected at most {limit} queries, {len(log)} ran:\n{log.report()}"
        )
