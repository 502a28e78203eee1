"""Powers, and which heroes have them at which level (a many-to-many with data on the link)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from sqlmodel_async import Database, NotFoundError, Repository

from ..models import (
    Hero,
    HeroPowerLink,
    HeroPowerPublic,
    HeroPublic,
    Power,
    PowerCreate,
    PowerLink,
    PowerPublic,
    PowerPublicWithHeroes,
)
from ._checks import require


class PowerService:
    def __init__(self, database: Database) -> None:
        self.db = database

    # --- reads -------------------------------------------------------------------------

    async def list(self, *, offset: int = 0, limit: int = 100) -> list[PowerPublic]:
        """Powers ordered by id."""
        async with self.db.reader() as reader:
            return await reader.project(Power, PowerPublic).list(offset=offset, limit=limit)

    async def get(self, power_id: int) -> PowerPublicWithHeroes:
        """The power and its heroes with their levels (two queries); `NotFoundError` if
        there is no such power."""
        async with self.db.reader() as reader:
            return await reader.project(Power, PowerPublicWithHeroes).get_one(power_id)

    async def hero_powers(self, hero_id: int) -> builtins.list[HeroPowerPublic]:
        """The hero's powers with their levels, by power id: one query, and a second only
        when there are none, to tell an unknown hero (`NotFoundError`) from one without
        powers."""
        async with self.db.reader() as reader:
            links = await reader.project(HeroPowerLink, HeroPowerPublic).list(
                order_by=[HeroPowerLink.power_id], hero_id=hero_id
            )
            if not links and not await reader.project(Hero, HeroPublic).exists(id=hero_id):
                raise NotFoundError(Hero, hero_id)
        return links

    # --- writes ------------------------------------------------------------------------

    async def create(self, data: PowerCreate) -> Power:
        require(data, PowerCreate)
        async with self.db.transaction() as session:
            return await Repository(Power, session).create(data)

    async def set_hero_powers(self, hero_id: int, links: Sequence[PowerLink]) -> None:
        """The hero's powers become `links`, atomically: `NotFoundError` for an unknown
        hero, `ForeignKeyError` naming unknown powers, and then nothing changes. A power
        given twice counts once (the last level given)."""
        async with self.db.transaction() as session:
            await Repository(Hero, session).set_links(hero_id, Hero.powers, links)
