"""Sessions: get_async_session, get_db_session, transactional_session, read_only_session,
and the seed's manual session management, each as one scope of `Database`."""

import pytest
from heroes.models import Hero, HeroCreate

from sqlmodel_async import Database, ReadOnlyError, Repository


async def main(db: Database) -> None:
    # get_async_session: a plain session; you commit, the rest is rolled back at the end.
    async with db.session() as session:
        await Repository(Hero, session).create(HeroCreate(name="Deadpond", secret_name="Dive"))
        await session.commit()

    # get_db_session / transactional_session: commit on success, rollback + re-raise on error.
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await Repository(Hero, session).create(HeroCreate(name="Rusty-Man", secret_name="T"))
            raise RuntimeError("something failed after the insert")

    # read_only_session: the database refuses the write, on every backend.
    async with db.read_only() as session:
        heroes = Repository(Hero, session)
        assert [hero.name for hero in await heroes.list()] == ["Deadpond"]  # no Rusty-Man
        with pytest.raises(ReadOnlyError):
            await heroes.create(HeroCreate(name="Spider-Boy", secret_name="Pedro"))
