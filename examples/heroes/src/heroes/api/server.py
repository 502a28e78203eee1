"""The app as `heroes serve` runs it: `create_app()` in a process tuned for serving.

A request allocates a few hundred short-lived container objects; with CPython's default
collection thresholds (a young collection every 700 allocations) the objects of the
requests still in flight are promoted again and again, and a full collection (every
object the app imported) follows every few seconds under load, a pause each time that
shows in the slowest requests. A young generation of 50,000 lets most requests' objects
die before any collection sees them (docs/deployment.md has the measurement). The process
owns its collector, so this is set by the entry point, not by `create_app()` (which tests
and embedding apps call in their own processes).
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from ..settings import Settings
from .app import create_app

#: Young, middle and old generation thresholds for a serving process (CPython: 700, 10, 10).
SERVING_GC_THRESHOLDS = (50_000, 20, 20)


def create_served_app() -> FastAPI:
    """`create_app()`, with this process's collector set for serving (uvicorn factory).

    A cursor secret too short to use is refused here, at start, rather than by every
    cursor request (ConfigurationError)."""
    gc.set_threshold(*SERVING_GC_THRESHOLDS)
    settings = Settings()
    settings.check_cursor_secret()
    return create_app(settings)
