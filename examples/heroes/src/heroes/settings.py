"""Configuration from the environment (or a `.env` file): `DATABASE_URL`, pool options and
the cursor secret."""

from __future__ import annotations

import os

from pydantic_settings import BaseSettings, SettingsConfigDict

from sqlmodel_async import ConfigurationError, CursorCodec, Database
from sqlmodel_async.pagination import CURSOR_SECRET_ENV

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./heroes.db"


class Settings(BaseSettings):
    """`DATABASE_URL=postgresql://app@db/heroes POOL_SIZE=20 heroes serve`"""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    echo: bool = False
    # Pool options; None keeps the library's defaults (10 connections, no overflow; a
    # single shared connection for in-memory SQLite).
    pool_size: int | None = None
    max_overflow: int | None = None
    pool_timeout: float | None = None
    pool_recycle: int | None = None
    pool_pre_ping: bool = False
    # Signs /heroes/cursor cursors; unset, the library uses SQLMODEL_ASYNC_CURSOR_SECRET or a
    # random per-process secret (cursors then stop working across restarts and workers).
    cursor_secret: str | None = None

    def check_cursor_secret(self, *, workers: int = 1) -> str | None:
        """Refuse, with ConfigurationError, a cursor secret that cannot serve: one shorter
        than 16 bytes (`CURSOR_SECRET` or the library's `SQLMODEL_ASYNC_CURSOR_SECRET`:
        every cursor request would fail), or none at all for several workers (each would
        sign with its own random key and refuse the others' cursors). Returns a warning
        to show when one process signs with a random key, else None."""
        secret = self.cursor_secret or os.environ.get(CURSOR_SECRET_ENV)
        name = "CURSOR_SECRET" if self.cursor_secret else CURSOR_SECRET_ENV
        if secret:
            try:
                CursorCodec(secret)
            except ConfigurationError:
                raise ConfigurationError(
                    f"{name} is too short: a cursor secret needs at least 16 bytes "
                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
                ) from None
            return None
        if workers > 1:
            raise ConfigurationError(
                f"{workers} workers need a shared cursor secret: set CURSOR_SECRET (at least "
                "16 bytes) so that a cursor signed by one worker is accepted by the others"
            )
        return (
            "CURSOR_SECRET is not set: /heroes/cursor cursors are signed with a random key "
            "and stop working when the service restarts"
        )

    def database(self) -> Database:
        """The Database these settings describe (raises ConfigurationError on a bad URL)."""
        return Database(
            self.database_url,
            echo=self.echo,
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            pool_timeout=self.pool_timeout,
            pool_recycle=self.pool_recycle,
            pool_pre_ping=self.pool_pre_ping,
        )
