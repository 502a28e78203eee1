"""`Repository.rows()` (dicts) and `tuples()`: filtered reads with no ORM instance, on every
backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sqlmodel_async import Database, Repository

from .models import Hero, Team


async def seed(db: Database) -> int:
    async with db.transaction() as session:
        team = Team(name="Red", headquarters="R")
        session.add(team)
        await session.flush()
        session.add_all(
            Hero(name=f"Hero {n}", secret_name=f"s{n}", age=n, team_id=team.id if n < 2 else None,
                 created_at=datetime(2024, 1, 1 + n, tzinfo=UTC))
            for n in range(5)
        )
        assert team.id is not None
        return team.id


async def test_rows_and_tuples(db: Database) -> None:
    team_id = await seed(db)
    async with db.session() as session:
        heroes = Repository(Hero, session)
        rows = await heroes.rows(Hero.age > 0, columns=["name", "age"], order_by=[Hero.age.desc()])  # type: ignore[operator,union-attr]
        assert rows == [{"name": f"Hero {n}", "age": n} for n in (4, 3, 2, 1)]
        assert all(type(row) is dict for row in rows)
        two = await heroes.tuples(columns=["name"], offset=1, limit=2)
        assert two == [("Hero 1",), ("Hero 2",)]
        assert await heroes.tuples(columns=["age"], team_id=team_id) == [(0,), (1,)]
        everything = await heroes.rows(name="Hero 3")
        orm = await heroes.first(name="Hero 3")
        assert orm is not None
        assert everything == [orm.model_dump()]
        assert everything[0]["created_at"] == datetime(2024, 1, 4, tzinfo=UTC)
        session.expunge_all()
        await heroes.rows()
        await heroes.tuples()
        assert len(session.identity_map) == 0  # no ORM instance was made
        with pytest.raises(ValueError, match="'nickname'"):
            await heroes.rows(columns=["nickname"])
        with pytest.raises(TypeError, match="columns="):
            await heroes.tuples(columns="name")
        with pytest.raises(ValueError, match="offset"):
            await heroes.rows(offset=-1)


async def test_rows_see_unwritten_changes(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        session.add(Hero(name="Pending", secret_name="p", age=99))
        assert await Repository(Hero, session).tuples(columns=["name"], age=99) == [("Pending",)]
