"""What a driver error says (`ErrorInfo`), and the exception to read it off: shared by the
per-backend classifiers (`_postgresql.py`, `_mysql.py`, `_sqlite.py`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorInfo:
    """What a driver error says, read off the exception the driver raised."""

    #: unique | foreign_key (no such parent row) | referenced (row still referenced)
    #: | not_null | check | read_only | transient | other
    kind: str
    constraint: str | None = None
    column: str | None = None


def driver_error(exc: BaseException) -> BaseException:
    """The innermost driver exception behind a SQLAlchemy/adapter wrapper."""
    orig = getattr(exc, "orig", None) or exc
    cause = orig.__cause__
    return cause if cause is not None else orig
