"""Which errors are worth retrying, and retrying a whole unit of work.

A transient error (deadlock, serialization failure, lost connection, SQLITE_BUSY) is read off
the driver's SQLSTATE or error code, never off the exception class alone: through SQLAlchemy,
asyncpg's serialization failure arrives as a bare `DBAPIError`. Integrity, data and
programming errors are never retried: running them again cannot succeed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from .dialects import Backend
from .errors import TransientError, translate

logger = logging.getLogger("sqlmodel_async.retry")

T = TypeVar("T")


def is_transient(error: BaseException, backend: Backend | None = None) -> bool:
    """True when running the same unit of work again, in a fresh transaction, may succeed."""
    if isinstance(error, TransientError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    return isinstance(translate(error, backend), TransientError)


async def retry_transient(
    attempt: Callable[[], Awaitable[T]],
    *,
    retries: int,
    backend: Backend | None = None,
    backoff: float = 0.05,
    max_backoff: float = 2.0,
) -> T:
    """Run `attempt()`; on a transient error run it again, up to `retries` more times.

    The wait grows exponentially from `backoff` seconds, capped at `max_backoff`, with full
    jitter so that colliding transactions do not collide again. When the retries run out,
    `TransientError` is raised with the last error as its cause.
    """

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "transient database error, attempt %d of %d: %s",
            state.attempt_number,
            retries + 1,
            error,
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda e: is_transient(e, backend)),
        stop=stop_after_attempt(retries + 1),
        wait=wait_random_exponential(multiplier=backoff, max=max_backoff),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return await retrying(attempt)
    except sa_exc.DBAPIError as error:
        translated = translate(error, backend)
        if isinstance(translated, TransientError):
            raise TransientError(
                f"gave up after {retries + 1} attempts: {translated.message}",
                detail="the database is busy, try again",
            ) from error
        raise translated from error
