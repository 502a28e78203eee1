"""The "new hero" notification: a background task that runs after the response, so it
reads through its own scope.

The request's session is closed by then; reusing it would read through a closed session
or, worse, share one session between two tasks. It reads through `database.reader()`: one
SELECT of the columns it needs, no session and no transaction around it.
"""

from __future__ import annotations

import logging
from collections import deque

from sqlalchemy.exc import SQLAlchemyError

from sqlmodel_async import Database, DatabaseError

from .models import Hero, HeroPublic

logger = logging.getLogger("heroes.notifications")


#: How many sent notifications `Notifier.sent` keeps (a long-running service would
#: otherwise grow by one string per hero created).
SENT_KEPT = 1000


class Notifier:
    """Sends "new hero" notifications; `sent` keeps the last `keep` sent (the service has
    no mail server: the log and this list are the observable effect)."""

    def __init__(self, database: Database, *, keep: int = SENT_KEPT) -> None:
        self.db = database
        self.sent: deque[str] = deque(maxlen=keep)

    async def hero_created(self, hero_id: int) -> None:
        # It runs after the response was sent: an error here would reach no client, only
        # tear down the connection the client may reuse. Log it and let it go.
        try:
            async with self.db.reader() as reader:
                hero = await reader.project(Hero, HeroPublic).get(hero_id)
        except (DatabaseError, SQLAlchemyError, OSError):
            logger.warning("notification for hero %s not sent", hero_id, exc_info=True)
            return
        if hero is None:  # deleted before the task ran
            return
        message = f"New hero: {hero.name}"
        self.sent.append(message)
        logger.info(message)
