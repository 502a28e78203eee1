"""Input checks shared by the services."""

from __future__ import annotations

from sqlmodel import SQLModel


def require(data: object, schema: type[SQLModel]) -> None:
    """Input is a validated schema, never a plain dict (a `hero_data: dict` parameter lets
    anything through, `id` included)."""
    if not isinstance(data, schema):
        raise TypeError(f"expected a {schema.__name__}, got {type(data).__name__}")
