"""The Heroes HTTP API: `create_app()` builds it (`uvicorn --factory heroes.api:create_app`)."""

from .app import ROUTERS, create_app

__all__ = ["ROUTERS", "create_app"]
