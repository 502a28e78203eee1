"""The Heroes HTTP API: `create_app()` builds it (`uvicorn --factory heroes.api:create_app`)."""

from .app import ROUTER_MODULES, create_app

__all__ = ["ROUTER_MODULES", "create_app"]
