"""Building a Database's engine: the URL and pool options checked against the backend,
`create_async_engine`, and the backend's own connection set-up."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from .dialects import QUEUE_POOL_OPTIONS, Backend, backend_for, normalize_url
from .errors import ConfigurationError
from .pgbouncer import pgbouncer_connect_args

#: The pool when none is given: 10 connections kept open, none beyond them. SQLAlchemy's own
#: default (5 + 10 overflow) closes every overflow connection when it is returned, so under
#: steady load connections are opened and closed all the time; a request that finds all 10
#: busy waits (up to pool_timeout) for one to come back instead.
DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 0


@dataclass(frozen=True)
class BuiltEngine:
    """An engine and what the rest of the Database needs to know about how it was made."""

    url: URL
    backend: Backend
    engine: AsyncEngine
    #: The engine options and connect_args given to create_async_engine (replicas get the
    #: same).
    options: dict[str, Any]
    connect_args: dict[str, Any]
    #: Whether the pool pings or recycles idle connections at checkout.
    pool_checks_idle: bool


def parse_url(url: str | URL) -> tuple[URL, Backend]:
    """The URL with its async driver, and the backend it speaks (with the facts read at
    run time, such as SQLite's parameter limit)."""
    try:
        parsed = normalize_url(url)
    except (ValueError, sa_exc.ArgumentError) as error:
        raise ConfigurationError(f"invalid database URL: {error}") from None
    backend = backend_for(parsed.get_backend_name())
    if backend.runtime_max_params is not None:
        backend = replace(backend, max_params=backend.runtime_max_params())
    return parsed, backend


def build_engine(
    url: str | URL,
    *,
    echo: bool,
    pool: dict[str, Any],
    pool_pre_ping: bool,
    connect_args: dict[str, Any] | None,
    pgbouncer: bool,
    engine_options: dict[str, Any],
) -> BuiltEngine:
    """The engine for `url`; `pool`: pool_size, max_overflow, pool_timeout, pool_recycle
    (None: not given)."""
    parsed, backend = parse_url(url)
    shown = parsed.render_as_string(hide_password=True)
    validate_pool_options(pool)
    if not isinstance(pool_pre_ping, bool):
        raise ConfigurationError(f"pool_pre_ping must be True or False, got {pool_pre_ping!r}")
    recycle = pool["pool_recycle"]
    options: dict[str, Any] = {k: v for k, v in pool.items() if v is not None}
    # Bound parameters stay out of error messages and logs (they are users' data:
    # names, secrets); pass hide_parameters=False to see them while debugging.
    options.update(echo=echo, pool_pre_ping=pool_pre_ping, hide_parameters=True)
    options.update(engine_options)
    connect = dict(connect_args or {})
    if pgbouncer:
        connect = pgbouncer_connect_args(parsed, connect)
    if backend.is_memory(parsed):
        given = [name for name in QUEUE_POOL_OPTIONS if pool[name] is not None]
        if given:
            raise ConfigurationError(
                f"{', '.join(given)} cannot apply to in-memory SQLite: it is one "
                "connection shared by every session (a static pool)"
            )
        options["poolclass"] = StaticPool
        for name, value in backend.memory_connect_args.items():
            connect.setdefault(name, value)
    elif "poolclass" not in engine_options:  # a pool class of the caller's takes its own
        options.setdefault("pool_size", DEFAULT_POOL_SIZE)
        options.setdefault("max_overflow", DEFAULT_MAX_OVERFLOW)
    try:
        engine = create_async_engine(parsed, connect_args=connect, **options)
    except ModuleNotFoundError as error:
        raise ConfigurationError(
            f"the driver for {shown} is not installed ({error.name}): pip install {error.name}"
        ) from None
    except (TypeError, sa_exc.ArgumentError) as error:
        raise ConfigurationError(f"invalid engine option for {shown}: {error}") from None
    except sa_exc.InvalidRequestError:
        raise ConfigurationError(
            f"{parsed.get_driver_name()!r} is not an async driver: use "
            f"{backend.name}+{backend.driver}:// (or a plain {backend.name}:// URL)"
        ) from None
    backend.configure_engine(engine.sync_engine, parsed)
    return BuiltEngine(
        url=parsed,
        backend=backend,
        engine=engine,
        options=options,
        connect_args=connect,
        pool_checks_idle=pool_pre_ping or (recycle is not None and recycle >= 0),
    )


def validate_pool_options(pool: dict[str, Any]) -> None:
    # -1 means "no limit" for max_overflow and "never" for pool_recycle.
    minimum = {"pool_size": 1, "max_overflow": -1, "pool_timeout": 0, "pool_recycle": -1}
    for name, value in pool.items():
        if value is None:
            continue
        whole = name != "pool_timeout"
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
            kind = "a whole number" if whole else "a number"
            raise ConfigurationError(f"{name} must be {kind}, got {value!r}")
        if value < minimum[name]:
            raise ConfigurationError(f"{name} must be at least {minimum[name]}, got {value!r}")
