"""sqlmodel-async: every async SQLModel pattern as one correct, fast, typed call."""

from .database import Database
from .errors import (
    BulkInputError,
    CheckViolation,
    ConcurrentUpdateError,
    ConfigurationError,
    ConflictError,
    DatabaseError,
    DuplicateKeyError,
    ForeignKeyError,
    InsecureCursorSecretWarning,
    IntegrityViolation,
    InvalidCursorError,
    InvalidDataError,
    InvalidFilterError,
    InvalidPageError,
    LazyLoadError,
    NotFoundError,
    NotNullViolation,
    ReadOnlyError,
    TransientError,
    translate,
)
from .filters import Filter, FilterQuery, FilterSet, Sort
from .loading import loader_options
from .pagination import CursorCodec, CursorPage, Page
from .projected import Projected
from .projection import plan_projections
from .reader import Reader
from .repository import Repository
from .retry import is_transient
from .streaming import encode_csv, encode_ndjson
from .types import ExactText, UTCDateTime, exact_text

__all__ = [
    "BulkInputError",
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
    "Filter",
    "FilterQuery",
    "FilterSet",
    "ForeignKeyError",
    "InsecureCursorSecretWarning",
    "IntegrityViolation",
    "InvalidCursorError",
    "InvalidDataError",
    "InvalidFilterError",
    "InvalidPageError",
    "LazyLoadError",
    "NotFoundError",
    "NotNullViolation",
    "Page",
    "Projected",
    "ReadOnlyError",
    "Reader",
    "Repository",
    "Sort",
    "TransientError",
    "UTCDateTime",
    "encode_csv",
    "encode_ndjson",
    "exact_text",
    "is_transient",
    "loader_options",
    "plan_projections",
    "translate",
]
