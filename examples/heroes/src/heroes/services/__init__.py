"""The service layer: every read and write of the Heroes API, on the library.

The routers only parse requests and shape responses; each service method is one unit of
work on its own scope, in the style the library's guides recommend:

- answers to requests are projected reads (`db.reader()` and `project(Schema)`): exactly
  the response schema's columns, no session and no transaction; the hot listings and
  by-id reads return the schema's JSON bytes, the others schema instances;
- writes go through `Repository` in `db.transaction()` (or `db.run_in_transaction()` when a
  unit of work must be re-run on a deadlock): one statement per write, no read first.

Methods take validated Create/Update schemas, never a plain dict, and raise the library's
errors (`NotFoundError`, `DuplicateKeyError`, `ForeignKeyError`), which the API turns into
404/409/422.
"""

from .browse import HeroBrowser
from .bulk import HeroBulkService
from .heroes import HeroService, move_hero
from .powers import PowerService
from .teams import TeamService

__all__ = [
    "HeroBrowser",
    "HeroBulkService",
    "HeroService",
    "PowerService",
    "TeamService",
    "move_hero",
]
