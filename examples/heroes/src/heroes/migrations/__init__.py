"""The Heroes schema's migrations (Alembic): `env.py`, the revision template and
`versions/`, plus `runner`, which runs them on a `Database` from sync or async code.

`heroes db upgrade|downgrade|current|revision|check` (heroes.db_commands) is the
command-line face; the service's start calls `prepare_schema`.
"""

from .runner import (
    MIGRATIONS_DIR,
    SchemaError,
    current_revision,
    downgrade,
    head_revision,
    heroes_metadata,
    prepare_schema,
    schema_differences,
    upgrade,
)

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaError",
    "current_revision",
    "downgrade",
    "head_revision",
    "heroes_metadata",
    "prepare_schema",
    "schema_differences",
    "upgrade",
]
