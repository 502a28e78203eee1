"""The service layer: typed operations on heroes, teams, items and transfers.

Each method is one unit of work on its own session (`db.transaction()` commits it or rolls
it back), takes validated Create/Update schemas, never a plain dict (S14), and raises the
library's errors (`NotFoundError`, `DuplicateKeyError`, `ForeignKeyError`), which the API
turns into 404/409/422.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import ConcurrentUpdateError, Database, NotFoundError, Repository

from .models import (
    Hero,
    HeroCreate,
    HeroCreateWithPowers,
    HeroPublic,
    HeroPublicWithItems,
    HeroUpdate,
    Item,
    ItemCreate,
    ItemPublic,
    Power,
    PowerCreate,
    PowerLink,
    Team,
    TeamCreate,
    TeamPublic,
    TeamRoster,
    TeamUpdate,
    TransferLog,
)


def _require(data: object, schema: type[SQLModel]) -> None:
    """Input is a validated schema, never a plain dict (the seed's `hero_data: dict` let
    anything through, `id` included)."""
    if not isinstance(data, schema):
        raise TypeError(f"expected a {schema.__name__}, got {type(data).__name__}")


class HeroService:
    """Heroes and their items.

    >>> heroes = HeroService(Database("sqlite+aiosqlite:///./heroes.db"))
    >>> hero = await heroes.create(HeroCreate(name="Deadpond", secret_name="Dive Wilson"))
    """

    def __init__(self, database: Database) -> None:
        self.db = database

    async def create(self, data: HeroCreate) -> Hero:
        """The hero, and its powers when `data` gives some (HeroCreateWithPowers): both
        or neither; an unknown power is a `ForeignKeyError` naming it."""
        _require(data, HeroCreate)
        async with self.db.transaction() as session:
            if isinstance(data, HeroCreateWithPowers) and data.powers:
                return await Repository(Hero, session).create_with_links(data)
            fields = data.model_dump(exclude={"powers"})
            return await Repository(Hero, session).create(fields)

    async def list(self, *, offset: int = 0, limit: int = 100) -> Sequence[Hero]:
        """Heroes in id order, so pages are stable."""
        async with self.db.session() as session:
            return await Repository(Hero, session).list(offset=offset, limit=limit)

    async def get(self, hero_id: int) -> Hero:
        """The hero with its team loaded; `NotFoundError` if there is none."""
        async with self.db.session() as session:
            return await Repository(Hero, session).get_one(hero_id, load=[Hero.team])

    async def get_by_name(self, name: str) -> Hero | None:
        async with self.db.session() as session:
            return await Repository(Hero, session).first(name=name)

    async def update(self, hero_id: int, data: HeroUpdate) -> Hero:
        """Partial update: fields sent as null become null, fields not sent are kept.

        Not retried on a version conflict: another request changed the hero after this
        one read it, a change the sender of this one has not seen; applying it anyway
        would be a lost update, so the caller gets `ConcurrentUpdateError` (409) and
        re-reads."""
        _require(data, HeroUpdate)
        async with self.db.transaction() as session:
            return await Repository(Hero, session).update(hero_id, data)

    async def update_power(self, hero_id: int, power_level: float) -> Hero:
        return await self.update(hero_id, HeroUpdate(power_level=power_level))

    async def delete(self, hero_id: int) -> None:
        """Delete the hero (its items and transfer log go with it)."""
        async with self.db.transaction() as session:
            if not await Repository(Hero, session).delete(hero_id):
                raise NotFoundError(Hero, hero_id)

    async def transfer(self, hero_id: int, team_id: int) -> Hero:
        """Move the hero to `team_id` and log it: both commit, or neither (S18).

        A version conflict is retried, not answered 409: the unit re-reads the hero and
        the team it leaves, so running it again moves the hero as asked and logs where
        it really was; nothing another request wrote is lost."""
        work = partial(move_hero, hero_id=hero_id, team_id=team_id)
        return await self.db.run_in_transaction(work, retry_on=(ConcurrentUpdateError,))

    async def add_item(self, hero_id: int, data: ItemCreate) -> Item:
        _require(data, ItemCreate)
        async with self.db.transaction() as session:
            await Repository(Hero, session).get_one(hero_id)
            return await Repository(Item, session).create(Item(name=data.name, hero_id=hero_id))

    async def items(
        self, hero_id: int, *, offset: int = 0, limit: int | None = None
    ) -> Sequence[Item]:
        """The hero's items in id order (`limit` of them from `offset`, when given)."""
        async with self.db.session() as session:
            await Repository(Hero, session).get_one(hero_id)
            return await Repository(Item, session).list(
                hero_id=hero_id, offset=offset, limit=limit
            )

    async def transfers(
        self, hero_id: int | None = None, *, offset: int = 0, limit: int | None = None
    ) -> Sequence[TransferLog]:
        """The transfer log, newest first; only `hero_id`'s when given (`limit` entries
        from `offset`, when given)."""
        filters = [] if hero_id is None else [TransferLog.hero_id == hero_id]
        newest_first = [TransferLog.transferred_at.desc(), TransferLog.id.desc()]  # type: ignore[attr-defined, union-attr]
        async with self.db.session() as session:
            return await Repository(TransferLog, session).list(
                *filters, order_by=newest_first, offset=offset, limit=limit
            )


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


async def move_hero(session: AsyncSession, *, hero_id: int, team_id: int) -> Hero:
    """The transfer's unit of work. Unlike the seed, nothing is refreshed before the
    commit: `session.refresh(hero)` would reload the old team and drop the change."""
    heroes = Repository(Hero, session)
    # Locked: concurrent transfers of this hero queue here, so each logs the team the
    # previous one left it on (unlocked, two could both log the same stale from_team_id).
    hero = await heroes.get_one(hero_id, lock=True)
    from_team_id = hero.team_id
    # The foreign key refuses an unknown team (ForeignKeyError naming team_id → 422).
    hero = await heroes.update(hero_id, HeroUpdate(team_id=team_id))
    await Repository(TransferLog, session).create(
        TransferLog(hero_id=hero_id, from_team_id=from_team_id, to_team_id=team_id)
    )
    return hero


class TeamService:
    """Teams, with their heroes."""

    def __init__(self, database: Database) -> None:
        self.db = database

    async def create(self, data: TeamCreate) -> Team:
        _require(data, TeamCreate)
        async with self.db.transaction() as session:
            return await Repository(Team, session).create(data)

    async def list(self, *, offset: int = 0, limit: int = 100) -> Sequence[Team]:
        async with self.db.session() as session:
            return await Repository(Team, session).list(offset=offset, limit=limit)

    async def get(self, team_id: int) -> Team:
        """The team with its heroes loaded; `NotFoundError` if there is none."""
        async with self.db.session() as session:
            return await Repository(Team, session).get_one(team_id, load=[Team.heroes])

    async def roster(self, team_id: int) -> Team:
        """The team, its heroes and each hero's items, in one nested eager load."""
        async with self.db.session() as session:
            return await Repository(Team, session).get_one(
                team_id, load=[(Team.heroes, Hero.items)]
            )

    async def roster_page(
        self, team_id: int, *, offset: int, limit: int, items_per_hero: int
    ) -> TeamRoster:
        """The team, `limit` of its heroes from `offset` (id order), and each one's first
        `items_per_hero` items: bounded whatever the team's size (`roster()` loads all)."""
        async with self.db.session() as session:
            team = TeamPublic.model_validate(await Repository(Team, session).get_one(team_id))
            heroes = [
                HeroPublic.model_validate(hero)
                for hero in await Repository(Hero, session).list(
                    team_id=team_id, offset=offset, limit=limit
                )
            ]
            items = await _first_items(session, [hero.id for hero in heroes], items_per_hero)
        return TeamRoster(
            **team.model_dump(),
            heroes=[
                HeroPublicWithItems(**hero.model_dump(), items=items.get(hero.id, []))
                for hero in heroes
            ],
        )

    async def update(self, team_id: int, data: TeamUpdate) -> Team:
        _require(data, TeamUpdate)
        async with self.db.transaction() as session:
            return await Repository(Team, session).update(team_id, data)

    async def delete(self, team_id: int) -> None:
        """Delete the team; its heroes stay, teamless (the foreign key's ON DELETE SET NULL)."""
        async with self.db.transaction() as session:
            if not await Repository(Team, session).delete(team_id):
                raise NotFoundError(Team, team_id)


class PowerService:
    """Powers, and which heroes have them at which level."""

    def __init__(self, database: Database) -> None:
        self.db = database

    async def create(self, data: PowerCreate) -> Power:
        _require(data, PowerCreate)
        async with self.db.transaction() as session:
            return await Repository(Power, session).create(data)

    async def set_hero_powers(self, hero_id: int, links: Sequence[PowerLink]) -> int:
        """The hero's powers become `links`, atomically: `NotFoundError` for an unknown
        hero, `ForeignKeyError` naming unknown powers, and then nothing changes. A power
        given twice counts once (the last level given)."""
        async with self.db.transaction() as session:
            return await Repository(Hero, session).set_links(hero_id, Hero.powers, links)


class HeroBulkService:
    """Many heroes per call (the /heroes/bulk endpoints).

    Each method is one unit of work through `run_in_transaction`: every row is written or
    none is, and a deadlock or serialization failure re-runs the whole unit in a fresh
    transaction. The library sends each chunk sorted by its key, so concurrent requests
    writing the same heroes in opposite orders wait for each other rather than deadlock;
    the retry covers what is left (locks taken by other statements, say).
    """

    def __init__(self, database: Database) -> None:
        self.db = database

    async def create_many(self, rows: Sequence[HeroCreate]) -> list[Hero]:
        """The new heroes with their ids, in the order given; a name that exists (or is
        given twice) is a `DuplicateKeyError` and nothing is created."""

        async def work(session: AsyncSession) -> list[Hero]:
            return await Repository(Hero, session).create_many(rows, returning=True)

        return await self.db.run_in_transaction(work)

    async def upsert_many(self, rows: Sequence[HeroCreate]) -> int:
        """Create or replace heroes by name; a name given twice: the last row wins."""

        async def work(session: AsyncSession) -> int:
            return await Repository(Hero, session).upsert_many(rows, conflict=["name"])

        return await self.db.run_in_transaction(work)

    async def update_many(self, rows: Sequence[HeroUpdate]) -> int:
        """Change the fields each row sets; every row also carries the hero's `id`. Returns
        how many heroes were found."""

        async def work(session: AsyncSession) -> int:
            return await Repository(Hero, session).update_many(rows)

        return await self.db.run_in_transaction(work)

    async def delete_many(self, ids: Sequence[int]) -> int:
        """Delete these heroes (their items go with them); returns how many existed."""

        async def work(session: AsyncSession) -> int:
            return await Repository(Hero, session).delete_many(ids)

        return await self.db.run_in_transaction(work)
