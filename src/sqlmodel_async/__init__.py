"""sqlmodel-async: every async SQLModel pattern as one correct, fast, typed call."""

from .database import Database
from .errors import (
    CheckViolation,
    ConcurrentUpdateError,
    ConfigurationError,
    ConflictError,
    DatabaseError,
    DuplicateKeyError,
    ForeignKeyError,
    IntegrityViolation,
    InvalidDataError,
    LazyLoadError,
    NotFoundError,
    NotNullViolation,
    ReadOnlyError,
    TransientError,
    translate,
)
from .loading import loader_options
from .pagination import (
    CursorCodec,
    CursorPage,
    InsecureCursorSecretWarning,
    InvalidCursorError,
    InvalidPageError,
    Page,
)
from .reader import Reader
from .repository import Repository
from .retry import is_transient
from .types import ExactText, UTCDateTime, exact_text

__all__ = [
    "CheckViolation",
    "ConcurrentUpdateError",
    "ConfigurationError",
    "ConflictError",
    "CursorCodec",
    "CursorPage",
    "Database",
    "DatabaseError",
    "DuplicateKeyError",
    "ExactText",
    "ForeignKeyError",
    "InsecureCursorSecretWarning",
    "IntegrityViolation",
    "InvalidCursorError",
    "InvalidDataError",
    "InvalidPageError",
    "LazyLoadError",
    "NotFoundError",
    "NotNullViolation",
    "Page",
    "ReadOnlyError",
    "Reader",
    "Repository",
    "TransientError",
    "UTCDateTime",
    "exact_text",
    "is_transient",
    "loader_options",
    "translate",
]
