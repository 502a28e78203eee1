"""`Repository[Model]`: typed reads and writes of one table model through one session.

The class is assembled from one module per job: reads (`_repository_reads.py`), single-row
writes (`_repository_writes.py`), bulk writes (`_repository_bulk.py`) and pages and streams
(`_repository_browse.py`), on the shared base (`_repository_base.py`).
"""

from __future__ import annotations

from ._repository_base import Filter, ModelT, Order
from ._repository_browse import BrowseMethods
from ._repository_bulk import BulkMethods
from ._repository_links import LinkMethods
from ._repository_reads import ReadMethods
from ._repository_writes import WriteMethods

__all__ = ["Filter", "Order", "Repository"]


class Repository(
    ReadMethods[ModelT], WriteMethods[ModelT], BulkMethods[ModelT], BrowseMethods[ModelT],
    LinkMethods[ModelT],
):
    """Typed reads and writes of one table model through one session.

    >>> heroes = Repository(Hero, session)
    >>> await heroes.get(1, load=[Hero.team])
    >>> await heroes.list(Hero.age > 30, order_by=[Hero.name], limit=10)
    """
