"""Rows the tests start from, and reading them back in a known order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database
from sqlmodel_async.keyset import Keyset

from ..models import Hero, Item, Team


async def insert_heroes(db: Database, count: int, start: int = 0, **overrides: Any) -> None:
    """`count` heroes; ages repeat 0..4 with every seventh NULL (heavy duplicates)."""
    rows = [
        {
            "name": f"hero-{index:05d}",
            "secret_name": f"secret-{index}",
            "age": None if index % 7 == 0 else index % 5,
            "power_level": float(index % 3),
            "created_at": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=index % 11),
            **overrides,
        }
        for index in range(start, start + count)
    ]
    if rows:
        async with db.engine.begin() as connection:
            await connection.execute(sa.insert(Hero.__table__), rows)  # type: ignore[arg-type]


async def ids_in_order(session: AsyncSession, order_by: Sequence[Any]) -> list[int]:
    """Every hero id in the keyset order, read in one query: the reference walk."""
    keyset = Keyset(Hero, order_by)
    result = await session.exec(select(Hero.id).order_by(*keyset.order_by()))
    return [hero_id for hero_id in result.all() if hero_id is not None]


async def teams_heroes_and_items(db: Database) -> dict[str, Any]:
    """Two teams (one with three heroes, one with none), heroes with and without a team,
    items on some heroes."""
    async with db.transaction() as session:
        full = Team(name="Preventers", headquarters="Sharp Tower")
        empty = Team(name="Nobody", headquarters="Nowhere")
        session.add_all([full, empty])
        await session.flush()
        heroes = [
            Hero(name=f"Hero {i}", secret_name=f"Secret {i}", age=20 + i if i % 2 else None,
                 power_level=10.5 * i, team_id=full.id if i < 3 else None,
                 created_at=datetime(2024, 1, 1 + i, tzinfo=UTC))
            for i in range(5)
        ]
        session.add_all(heroes)
        await session.flush()
        session.add_all(
            [Item(name=f"Item {n}", hero_id=heroes[n % 2].id or 0) for n in range(3)]
        )
        await session.flush()
        return {"full": full.id, "empty": empty.id, "heroes": [h.id for h in heroes]}


async def all_heroes(db: Database) -> list[Hero]:
    """Every hero, read back in a new session in key order."""
    async with db.session() as session:
        return list((await session.exec(select(Hero).order_by(Hero.id))).all())


def sort_collections(team: Team) -> Team:
    """The team's heroes (and their items) in key order, as projections read them: Team.heroes
    has no order_by, so the ORM's order is unspecified."""
    team.heroes.sort(key=lambda hero: hero.id or 0)
    for hero in team.heroes:
        if "items" in hero.__dict__:
            hero.items.sort(key=lambda item: item.id or 0)
    return team
