"""The exceptions users see, and the translation of driver errors into them.

Every database refusal reaches the caller as a subclass of `DatabaseError`, carrying the
backend's message and, where the backend names it, the constraint or column at fault.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

from .dialects import Backend, backend_for, backend_of_error


class DatabaseError(Exception):
    """Base of every error this library raises about the database."""

    def __init__(
        self,
        message: str,
        *,
        constraint: str | None = None,
        column: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.constraint = constraint
        self.column = column
        #: A short, client-safe explanation (no SQL, no parameters).
        self.detail = detail or message


class ConfigurationError(DatabaseError, ValueError):
    """A Database was configured with options its backend cannot honour."""


class InvalidDataError(DatabaseError, ValueError):
    """The caller's data cannot be written as given: an unknown field, or a change to the
    primary key. Nothing was sent to the database."""


class NotFoundError(DatabaseError):
    """A row that must exist does not (e.g. `update()` of an unknown key)."""

    def __init__(self, model: type[Any] | str, key: Any = None, *, missing: Any = None) -> None:
        name = model if isinstance(model, str) else model.__name__
        self.model_name = name
        self.key = key
        #: For `get_many`: the keys that were not found, in input order.
        self.missing = missing
        which = f" (missing: {missing!r})" if missing is not None else ""
        super().__init__(f"{name} not found{which}", detail=f"{name} not found")


class IntegrityViolation(DatabaseError):
    """A constraint refused the write (base of the specific kinds below)."""


class ConflictError(IntegrityViolation):
    """The write conflicts with existing data: a duplicate key or a foreign-key violation."""


class DuplicateKeyError(ConflictError):
    """A unique or primary key already holds this value."""


class ForeignKeyError(ConflictError):
    """A foreign key refused the write: the row it points at does not exist
    (`missing_reference`), or, deleting, the row is still referenced by others."""

    missing_reference: bool = True
    #: The keys that name no row, where they are known (link writes check them first).
    missing: list[Any] | None = None


class ConcurrentUpdateError(ConflictError):
    """Optimistic concurrency: the row was changed by another transaction since it was read
    (its version column no longer matches), so this write was refused rather than silently
    overwriting that change. Read the row again, then decide."""


class NotNullViolation(IntegrityViolation):
    """A required column was given no value."""


class CheckViolation(IntegrityViolation):
    """A CHECK constraint refused the value."""


class ReadOnlyError(DatabaseError):
    """A write was attempted in a read-only scope."""


class TransientError(DatabaseError):
    """A transient failure (deadlock, serialization failure, lost connection) that outlived
    the retries; `__cause__` is the last one."""


class LazyLoadError(DatabaseError, AttributeError):
    """An unloaded relationship was read outside `await`: it would have needed a query."""


_KIND_TO_ERROR: dict[str, type[DatabaseError]] = {
    "unique": DuplicateKeyError,
    "foreign_key": ForeignKeyError,
    "referenced": ForeignKeyError,
    "not_null": NotNullViolation,
    "check": CheckViolation,
    "read_only": ReadOnlyError,
    "transient": TransientError,
}


def _describe(kind: str, constraint: str | None, column: str | None) -> str:
    what = {
        "unique": "duplicate value",
        "foreign_key": "referenced row does not exist",
        "referenced": "row is still referenced",
        "not_null": "missing required value",
        "check": "value refused by a check constraint",
        "read_only": "write refused: this session is read-only",
        "transient": "transient database failure",
    }.get(kind, "database error")
    if column:
        what += f" for {column!r}"
    if constraint:
        what += f" (constraint {constraint!r})"
    return what


def translate(error: BaseException, backend: Backend | str | None = None) -> BaseException:
    """Turn a SQLAlchemy/driver error into the matching `DatabaseError`.

    Errors that are not about the database's refusal (programming errors, our own
    exceptions) come back unchanged, so `raise translate(e) from e` is always safe.
    """
    if isinstance(error, orm_exc.StaleDataError):
        # The ORM's UPDATE/DELETE ... WHERE version = :read matched no row.
        return ConcurrentUpdateError(
            f"concurrent update: {error}",
            detail="the row was changed by another request since it was read: read it again",
        )
    if isinstance(error, DatabaseError) or not isinstance(error, sa_exc.DBAPIError):
        return error
    if backend is None:
        backend = backend_of_error(error)
    elif isinstance(backend, str):
        backend = backend_for(backend)
    info = backend.classify(error)
    if error.connection_invalidated and info.kind == "other":
        info = type(info)("transient")
    cls = _KIND_TO_ERROR.get(info.kind)
    if cls is None:
        return error
    driver_message = str(getattr(error, "orig", error)).strip().splitlines()[0]
    translated = cls(
        f"{_describe(info.kind, info.constraint, info.column)}: {driver_message}",
        constraint=info.constraint,
        column=info.column,
        detail=_describe(info.kind, info.constraint, info.column),
    )
    if isinstance(translated, ForeignKeyError):
        translated.missing_reference = info.kind == "foreign_key"
    return translated



# --- refusals of the caller's input: bulk rows, pages and cursors, request filters ---------
# (Raised before anything is sent; defined here so that every exception of the library is
# in this one module. Their old homes, bulk_rows.py, pagination.py and filters.py, import
# them from here.)


class BulkInputError(InvalidDataError):
    """A row given to a bulk call is invalid (unknown or missing field, a value of the
    wrong type) or the call's options are (a conflict target that is not a unique key).
    Raised before that chunk is sent: the caller's rollback undoes earlier chunks.

    `row` is the row's position in the input, `column` the field at fault (if one is)."""

    def __init__(self, message: str, *, row: int | None = None, field: str | None = None):
        super().__init__(message, column=field)
        self.row = row


class InvalidPageError(DatabaseError, ValueError):
    """`page` or `size` (or a cursor `limit`) is out of range (HTTP 422); `column` names
    the parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, column=parameter)


class InvalidCursorError(DatabaseError, ValueError):
    """A cursor that was tampered with, truncated, signed with another secret, or issued
    for another model or order (HTTP 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid cursor: {reason}", detail="invalid cursor")


class InsecureCursorSecretWarning(UserWarning):
    """No cursor secret was configured: a random one is used for this process only."""


class InvalidFilterError(DatabaseError, ValueError):
    """A filter or sort parameter the filter set does not allow, or a value of the wrong
    type (HTTP 422); `column` names the parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, column=parameter, detail=message)
