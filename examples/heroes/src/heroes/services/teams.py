"""Teams, their heroes, and moving every hero of a team to another one."""

from __future__ import annotations

from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import Database, FilterQuery, ForeignKeyError, NotFoundError, Repository

from ..models import (
    Hero,
    HeroPublic,
    HeroPublicWithItems,
    Item,
    ItemPublic,
    Team,
    TeamCreate,
    TeamPublic,
    TeamRoster,
    TeamUpdate,
)
from ._checks import require


class UnknownTargetTeam(Exception):
    """The team to move heroes to does not exist."""


class TeamService:
    """Teams, with their heroes."""

    def __init__(self, database: Database) -> None:
        self.db = database

    # --- reads -------------------------------------------------------------------------

    async def list_json(
        self, filters: FilterQuery[Team], *, offset: int = 0, limit: int = 100
    ) -> bytes:
        """The teams `filters` select, in their order, as the JSON of `list[TeamPublic]`."""
        async with self.db.reader() as reader:
            return await reader.project(Team, TeamPublic).list_json(
                *filters, order_by=filters.order_by, offset=offset, limit=limit
            )

    async def get_json(self, team_id: int, *, heroes_offset: int, heroes_limit: int) -> bytes:
        """The team and a page of its heroes (id order), as the JSON of
        `TeamPublicWithHeroes`; `NotFoundError` if there is no such team."""
        async with self.db.reader() as reader:
            team = await reader.project(Team, TeamPublic).get_json(team_id)
            heroes = await reader.project(Hero, HeroPublic).list_json(
                Hero.team_id == team_id, offset=heroes_offset, limit=heroes_limit
            )
        # TeamPublicWithHeroes is TeamPublic plus `heroes` as its last field: its JSON is the
        # team's object with the heroes' array added at the end.
        return team[:-1] + b',"heroes":' + heroes + b"}"

    async def roster(
        self, team_id: int, *, offset: int, limit: int, items_per_hero: int
    ) -> TeamRoster:
        """The team, `limit` of its heroes from `offset` (id order), and each one's first
        `items_per_hero` items: bounded whatever the team's size."""
        # A session rather than the reader: the items are one window query of our own.
        async with self.db.session() as session:
            team = await Repository(Team, session).project(TeamPublic).get_one(team_id)
            heroes = await Repository(Hero, session).project(HeroPublic).list(
                team_id=team_id, offset=offset, limit=limit
            )
            items = await _first_items(session, [hero.id for hero in heroes], items_per_hero)
        return TeamRoster(
            **team.model_dump(),
            heroes=[
                HeroPublicWithItems(**hero.model_dump(), items=items.get(hero.id, []))
                for hero in heroes
            ],
        )

    # --- writes ------------------------------------------------------------------------

    async def create(self, data: TeamCreate) -> Team:
        require(data, TeamCreate)
        async with self.db.transaction() as session:
            return await Repository(Team, session).create(data)

    async def update(self, team_id: int, data: TeamUpdate) -> Team:
        require(data, TeamUpdate)
        async with self.db.transaction() as session:
            return await Repository(Team, session).update(team_id, data)

    async def delete(self, team_id: int) -> None:
        """Delete the team; its heroes stay, teamless (the foreign key's ON DELETE SET NULL)."""
        async with self.db.transaction() as session:
            if not await Repository(Team, session).delete(team_id):
                raise NotFoundError(Team, team_id)

    async def move_heroes(self, team_id: int, *, to: int) -> int:
        """Every hero of the team moves to team `to`, in one statement; returns how many.
        `NotFoundError` for an unknown team, `UnknownTargetTeam` for an unknown `to`. A
        deadlock with a concurrent move re-runs the unit (`run_in_transaction`)."""
        return await self.db.run_in_transaction(partial(move_heroes, team_id=team_id, to=to))


async def move_heroes(session: AsyncSession, *, team_id: int, to: int) -> int:
    """The unit of work: both teams must exist; then one UPDATE moves the heroes.

    Both team rows are locked first, in id order, so concurrent moves between the same
    teams run one after the other (as if serial: a move the other way cannot swap the
    teams' heroes) and never deadlock on each other. `FOR NO KEY UPDATE` on PostgreSQL:
    heroes joining either team meanwhile (their foreign-key checks take KEY SHARE) are
    not held up. A vanished target is refused by the foreign key all the same."""
    locked = select(Team.id).where(col(Team.id).in_({team_id, to})).order_by(col(Team.id))
    found = set((await session.exec(locked.with_for_update(key_share=True))).all())
    if team_id not in found:
        raise NotFoundError(Team, team_id)
    if to not in found:
        raise UnknownTargetTeam(to)
    try:
        return await Repository(Hero, session).update_where({"team_id": to}, team_id=team_id)
    except ForeignKeyError as error:
        raise UnknownTargetTeam(to) from error


async def _first_items(
    session: AsyncSession, hero_ids: list[int], per_hero: int
) -> dict[int, list[ItemPublic]]:
    """The first `per_hero` items (id order) of each hero, in one query (a window)."""
    if not hero_ids or per_hero < 1:
        return {}
    item: Any = Item
    rank = sa.func.row_number().over(partition_by=item.hero_id, order_by=item.id)
    ranked = (
        sa.select(item.id, item.name, item.hero_id, rank.label("rank"))
        .where(item.hero_id.in_(hero_ids))
        .subquery()
    )
    statement: Any = (
        sa.select(ranked.c.id, ranked.c.name, ranked.c.hero_id)
        .where(ranked.c.rank <= per_hero)
        .order_by(ranked.c.hero_id, ranked.c.id)
    )
    found: dict[int, list[ItemPublic]] = {}
    for row in (await session.exec(statement)).all():
        found.setdefault(row.hero_id, []).append(
            ItemPublic(id=row.id, name=row.name, hero_id=row.hero_id)
        )
    return found
