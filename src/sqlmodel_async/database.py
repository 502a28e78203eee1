"""`Database`: one URL in, a configured engine, session factory and session scopes out.

Built from one module per job: the engine (`_engine.py`), the scopes and `bind()`
(`_scopes.py`), read-only enforcement (`_read_only.py`) and the reader's pool checkout
(`_pool_checkout.py`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy import MetaData
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from ._engine import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE, build_engine
from ._pool_checkout import STALE_POOL_SECONDS, PoolCheckout
from ._read_only import reset_on_checkin
from ._scopes import Scopes
from ._sqlite import BEGIN_OPTION
from ._writer_lock import WriterLock
from .dialects import BACKEND_INFO_KEY, Backend
from .errors import ConfigurationError
from .loading import GuardedSession
from .replicas import DEFAULT_CONNECT_TIMEOUT, DEFAULT_RETRY_AFTER, ReplicaSet
from .retry import watch_disconnects

__all__ = [
    "BEGIN_OPTION",
    "DEFAULT_MAX_OVERFLOW",
    "DEFAULT_POOL_SIZE",
    "STALE_POOL_SECONDS",
    "Database",
]


class Database(Scopes):
    """An async database: engine, pool, session factory and the scopes to use them.

    >>> db = Database("postgresql://app@localhost/app", pool_size=10)
    >>> async with db.transaction() as session:
    ...     session.add(Hero(name="Deadpond", secret_name="Dive Wilson"))

    Plain URLs get the async driver (`postgresql://` → asyncpg, `mysql://`/`mariadb://` →
    asyncmy, `sqlite://` → aiosqlite). Pool options are checked against the backend.
    Bound parameters are kept out of error messages and logs (SQLAlchemy's
    `hide_parameters=True`); `Database(url, hide_parameters=False)` shows them.

    The scopes (`session`, `transaction`, `read_only`, `run_in_transaction`, `reader`) and
    `bind` are described in _scopes.py.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        echo: bool = False,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        pool_timeout: float | None = None,
        pool_recycle: int | None = None,
        pool_pre_ping: bool = False,
        metadata: MetaData | None = None,
        connect_args: dict[str, Any] | None = None,
        replicas: Sequence[str | URL] = (),
        replica_retry_after: float = DEFAULT_RETRY_AFTER,
        replica_connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        pgbouncer: bool = False,
        **engine_options: Any,
    ) -> None:
        built = build_engine(
            url,
            echo=echo,
            pool={
                "pool_size": pool_size,
                "max_overflow": max_overflow,
                "pool_timeout": pool_timeout,
                "pool_recycle": pool_recycle,
            },
            pool_pre_ping=pool_pre_ping,
            connect_args=connect_args,
            pgbouncer=pgbouncer,
            engine_options=engine_options,
        )
        self._url = built.url
        self.backend: Backend = built.backend
        self.engine: AsyncEngine = built.engine
        self.metadata = metadata if metadata is not None else SQLModel.metadata
        watch_disconnects(self.engine, self.backend)
        self._pool_checkout = PoolCheckout(self.engine, pool_checks_idle=built.pool_checks_idle)
        if self.backend.read_only_end is not None:
            reset_on_checkin(self.engine, self.backend.read_only_end)
        # Sessions meant to write begin with the backend's `write_begin` (SQLite: BEGIN
        # IMMEDIATE) at their first statement: an engine with that option over the same
        # pool, so the transaction still begins only when first needed (a bulk call or a
        # write can then tell a fresh transaction from one that already did something).
        write_options = self.backend.write_options
        self._write_bind: dict[str, Any] = (
            {"bind": self.engine.execution_options(**write_options)} if write_options else {}
        )
        # One write transaction at a time where the database takes one writer at a time.
        wait = self.backend.writer_wait
        self._writer_lock = WriterLock(wait) if wait is not None else None
        self._sessions = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            sync_session_class=GuardedSession,
            expire_on_commit=False,
            # Repository reads the backend from here: it knows the run-time SQLite limit.
            info={BACKEND_INFO_KEY: self.backend},
        )
        self._bound_sessions = None
        self._bound_connection = None
        # read_only() and session(replica=True) read from these (see replicas.py).
        self.replicas = ReplicaSet.from_urls(
            replicas, backend=self.backend, connect_args=built.connect_args,
            engine_options=built.options, retry_after=replica_retry_after,
            connect_timeout=replica_connect_timeout,
        )

    # --- construction -----------------------------------------------------------------

    @classmethod
    def from_env(
        cls, variable: str = "DATABASE_URL", *, default: str | None = None, **options: Any
    ) -> Self:
        """A Database for the URL in the environment variable `variable`."""
        url = os.environ.get(variable) or default
        if not url:
            raise ConfigurationError(f"{variable} is not set")
        return cls(url, **options)

    @property
    def url(self) -> str:
        """The URL with its password hidden: safe for logs and error messages."""
        return self._url.render_as_string(hide_password=True)

    @property
    def is_memory_sqlite(self) -> bool:
        """Whether the database is a private in-memory one (SQLite's `:memory:`), served
        by one connection that every session shares."""
        return self.backend.is_memory(self._url)

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    # --- schema and lifecycle ---------------------------------------------------------

    async def create_all(self) -> None:
        """Create the metadata's tables that do not exist yet.

        On MariaDB/MySQL each table is created in `utf8mb4` (unless it names its own
        `mysql_default_charset`), whatever the database's default character set."""
        for table in self.metadata.tables.values():
            for name, value in self.backend.table_options.items():
                if name not in table.dialect_kwargs:
                    table.dialect_kwargs[name] = value
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def drop_all(self) -> None:
        """Drop the metadata's tables."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.drop_all)

    async def ping(self) -> None:
        """Round trip to the database; raises if it cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        await self.replicas.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.dispose()
