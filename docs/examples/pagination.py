"""get_paginated_heroes_async: numbered pages with a total, and keyset pages for deep ones."""

import pytest
from heroes.models import Hero
from sqlmodel import col

from sqlmodel_async import Database, InvalidPageError, Repository

CURSOR_SECRET = "a-long-random-secret-from-your-settings"


async def main(db: Database) -> None:
    async with db.transaction() as session:
        await Repository(Hero, session).create_many(
            [{"name": f"Hero {n:02}", "secret_name": "s", "age": n % 7} for n in range(25)]
        )

    async with db.session() as session:
        heroes = Repository(Hero, session)

        # Page[Hero]: items, total, page, size, pages (the seed's PaginatedResponse fields).
        page = await heroes.paginate(page=3, size=10, order_by=[Hero.name])
        assert (page.total, page.pages, len(page.items)) == (25, 3, 5)
        assert page.items[0].name == "Hero 20"
        with pytest.raises(InvalidPageError):  # HTTP 422 through add_exception_handlers
            await heroes.paginate(page=0, size=10)

        # CursorPage[Hero]: the same cost at any depth; rows never skipped or repeated.
        names: list[str] = []
        after: str | None = None
        while True:
            cursor_page = await heroes.paginate_cursor(
                limit=10, after=after, order_by=[col(Hero.age).desc(), Hero.name],
                secret=CURSOR_SECRET,
            )
            names += [hero.name for hero in cursor_page.items]
            if cursor_page.next_cursor is None:
                break
            after = cursor_page.next_cursor
        assert sorted(names) == [f"Hero {n:02}" for n in range(25)]
