"""A module-level app for ASGI servers: `uvicorn heroes.main:app` (reads DATABASE_URL)."""

from .api import create_app

app = create_app()
