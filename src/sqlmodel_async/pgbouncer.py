"""What `Database(url, pgbouncer=True)` changes so asyncpg works through PgBouncer.

In transaction pooling mode PgBouncer hands each *transaction* whichever server connection
is free. Named prepared statements live on one server connection, so a statement prepared in
one transaction is missing in the next ("prepared statement "__asyncpg_stmt_5__" does not
exist"), and names that two clients both generate collide on a shared server connection
("... already exists"). PgBouncer 1.18 (Debian 12) does not track prepared statements.

Three settings, each closing one way to fail:

- SQLAlchemy's asyncpg dialect caches prepared statements per client connection and reuses
  them in later transactions: `prepared_statement_cache_size=0` turns that off.
- asyncpg caches the statements of its own calls (pings, type introspection) the same way:
  `statement_cache_size=0`.
- the dialect still prepares each statement under a name, inside the transaction that runs
  it. asyncpg's default names count up from 1 in every process, so two workers collide on a
  shared server connection; a UUID name never meets a statement left behind there.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sqlalchemy.engine import URL

from .errors import ConfigurationError


def unique_statement_name() -> str:
    """A prepared statement name no other connection or process will use."""
    return f"__asyncpg_{uuid4().hex}__"


#: connect_args per driver, for a server reached through PgBouncer in transaction mode.
PGBOUNCER_CONNECT_ARGS: dict[str, dict[str, Any]] = {
    "postgresql+asyncpg": {
        "prepared_statement_cache_size": 0,  # SQLAlchemy's per-connection cache
        "statement_cache_size": 0,  # asyncpg's own cache
        "prepared_statement_name_func": unique_statement_name,
    },
}


def pgbouncer_connect_args(url: URL, connect_args: dict[str, Any]) -> dict[str, Any]:
    """`connect_args` with the PgBouncer settings for the URL's driver added.

    Settings the caller gave explicitly win.
    """
    settings = PGBOUNCER_CONNECT_ARGS.get(url.drivername)
    if settings is None:
        supported = ", ".join(PGBOUNCER_CONNECT_ARGS)
        raise ConfigurationError(
            f"pgbouncer=True is for PostgreSQL through PgBouncer ({supported}), "
            f"not {url.drivername}"
        )
    return {**settings, **connect_args}
