"""Liveness and readiness."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from sqlmodel_async.fastapi import DatabaseDep

logger = logging.getLogger("heroes.health")
router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (no database round trip)."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
async def ready(database: DatabaseDep) -> dict[str, str] | JSONResponse:
    """The database answers: 200, else 503 so a load balancer stops sending traffic."""
    try:
        await database.ping()
    except (OSError, sa_exc.SQLAlchemyError) as error:
        logger.warning("database not ready: %s", type(error).__name__)
        return JSONResponse(
            {"status": "unavailable", "detail": "the database is unreachable"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return {"status": "ok", "database": "ok"}
