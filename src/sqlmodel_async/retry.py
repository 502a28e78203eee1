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

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import exc as orm_exc
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


#: How far back `is_transient` follows the errors a database error was raised while handling.
_CONTEXT_DEPTH = 8


def is_transient(error: BaseException, backend: Backend | None = None) -> bool:
    """True when running the same unit of work again, in a fresh transaction, may succeed.

    A database error raised while handling a transient one counts as transient: InnoDB
    rolls the whole transaction back on a deadlock, so the savepoint rollback that follows
    fails with "SAVEPOINT does not exist" (1305), and that error is what reaches us.
    """
    if isinstance(error, TransientError):
        return True
    # A DBAPIError, or SQLAlchemy refusing to go on (PendingRollbackError) after one.
    if not isinstance(error, sa_exc.DBAPIError | sa_exc.PendingRollbackError):
        return False
    current: BaseException | None = error
    for _ in range(_CONTEXT_DEPTH):
        if current is None:
            break
        if _transient_here(current, backend):
            return True
        current = current.__context__
    return False


def _transient_here(error: BaseException, backend: Backend | None) -> bool:
    if isinstance(error, TransientError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    return isinstance(translate(error, backend), TransientError)


def watch_disconnects(engine: AsyncEngine, backend: Backend) -> None:
    """Have SQLAlchemy treat the errors `backend.is_disconnect` recognizes as disconnects:
    the connection (and the pool's older ones) is invalidated, the error carries
    `connection_invalidated`, and so it is transient."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def on_error(context: ExceptionContext) -> None:
        if not context.is_disconnect and backend.is_disconnect(context.original_exception):
            context.is_disconnect = True


async def retry_transient(
    attempt: Callable[[], Awaitable[T]],
    *,
    retries: int,
    backend: Backend | None = None,
    backoff: float = 0.05,
    max_backoff: float = 2.0,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Run `attempt()`; on a transient error run it again, up to `retries` more times.

    `retry_on`: library errors (after `translate`) that are worth retrying too for this
    unit, e.g. `ConcurrentUpdateError` for work that re-reads what it changes. When the
    retries run out on one of them, it is raised as is (not as `TransientError`).

    The wait grows exponentially from `backoff` seconds, capped at `max_backoff`, with full
    jitter so that colliding transactions do not collide again. When the retries run out,
    `TransientError` is raised with the last error as its cause.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
    if backoff < 0 or max_backoff < 0:
        raise ValueError("backoff and max_backoff must be >= 0")

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # Say what is retried: a transient error, or one the caller chose (retry_on).
        reason = (
            "transient database error"
            if error is None or is_transient(error, backend)
            else type(translate(error, backend)).__name__
        )
        logger.warning(
            "%s on attempt %d of %d, retrying in %.3fs: %s",
            reason,
            state.attempt_number,
            retries + 1,
            wait,
            error,
            extra={"attempt": state.attempt_number, "wait": wait, "reason": reason},
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception(
            lambda e: is_transient(e, backend) or isinstance(translate(e, backend), retry_on)
        ),
        stop=stop_after_attempt(retries + 1),
        wait=wait_random_exponential(multiplier=backoff, max=max_backoff),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return await retrying(attempt)
    except (sa_exc.DBAPIError, sa_exc.PendingRollbackError, orm_exc.StaleDataError) as error:
        if is_transient(error, backend):
            logger.error("transient database error: giving up after %d attempts", retries + 1)
            first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise TransientError(
                f"gave up after {retries + 1} attempts: {first_line}",
                detail="the database is busy, try again",
            ) from error
        translated = translate(error, backend)
        if translated is error:
            raise
        raise translated from error
