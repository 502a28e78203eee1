"""What a block of a test sends to the database.

`queries` is the pytest plugin's recorder (`sqlmodel_async.testing.QueryRecorder`), the one
users count with `assert_max_queries`: the statements an app makes, transaction control
(BEGIN, SAVEPOINT, RELEASE, COMMIT, ROLLBACK) left out. `sent` is the only recorder of our
own, for the tests that need what the plugin's leaves out: the SAVEPOINTs a write adds, or
proof that nothing at all went to the database.

Both listen only while the block runs. The plugin keeps its recorder on an engine for the
engine's life (a plugin run has one Database), but this suite shares one engine per backend
across its tests, and any cursor listener turns off the asyncpg direct reads and writes:
a recorder left behind would make every later test take SQLAlchemy's path instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection

from sqlmodel_async import Database
from sqlmodel_async.testing import QueryRecorder


@contextmanager
def queries(db: Database, *, starting: str = "") -> Iterator[list[str]]:
    """The statements the block runs on `db`'s engine, counted as `max_queries` counts them,
    whitespace collapsed. With `starting` (say "SELECT"), the list keeps, once the block
    ends, only the statements that start with it."""
    recorder = QueryRecorder(db.engine.sync_engine)
    with recorder.record() as log:
        yield log.statements
    if starting:
        log.statements[:] = [
            statement for statement in log.statements
            if statement.upper().startswith(starting.upper())
        ]


#: SQLite's explicit BEGIN (sent as a statement by the library's hook); the other drivers
#: begin unseen, so counting it would make the counts differ by backend for no reason.
_SQLITE_BEGIN = ("BEGIN", "BEGIN IMMEDIATE")


@contextmanager
def sent(db: Database) -> Iterator[list[str]]:
    """Every statement the block sends on `db`'s engine, SAVEPOINT and RELEASE included (SQLite's
    explicit BEGIN left out), whitespace collapsed."""
    engine = db.engine.sync_engine
    seen: list[str] = []

    def record(_conn: Connection, _cursor: object, statement: str, *_rest: object) -> None:
        text = " ".join(statement.split())
        if text.upper() not in _SQLITE_BEGIN:
            seen.append(text)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
