"""Configuration from the environment (or a `.env` file): `DATABASE_URL` and pool options."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from sqlmodel_async import Database

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
