"""Heroes: the tutorial's endpoints, a hero's items, and transfers between teams."""

from __future__ import annotations

from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import ConcurrentUpdateError, Database, FilterQuery, NotFoundError, Repository

from ..models import (
    Hero,
    HeroCreate,
    HeroCreateWithPowers,
    HeroPublic,
    HeroPublicWithTeam,
    HeroUpdate,
    Item,
    ItemCreate,
    ItemPublic,
    TransferLog,
    TransferLogPublic,
)
from ._checks import require


class HeroService:
    """Heroes and their items.

    >>> heroes = HeroService(Database("sqlite+aiosqlite:///./heroes.db"))
    >>> hero = await heroes.create(HeroCreate(name="Deadpond", secret_name="Dive Wilson"))
    """

    def __init__(self, database: Database) -> None:
        self.db = database

    # --- reads -------------------------------------------------------------------------

    async def get(self, hero_id: int) -> HeroPublicWithTeam:
        """The hero with its team; `NotFoundError` if there is none."""
        async with self.db.reader() as reader:
            return await reader.project(Hero, HeroPublicWithTeam).get_one(hero_id)

    async def get_json(self, hero_id: int) -> bytes:
        """`get()`'s answer as the JSON `response_model=HeroPublicWithTeam` would send."""
        async with self.db.reader() as reader:
            return await reader.project(Hero, HeroPublicWithTeam).get_json(hero_id)

    async def list_json(
        self, filters: FilterQuery[Hero], *, offset: int = 0, limit: int = 100
    ) -> bytes:
        """The heroes `filters` select, in their order, as the JSON of `list[HeroPublic]`."""
        async with self.db.reader() as reader:
            return await reader.project(Hero, HeroPublic).list_json(
                *filters, order_by=filters.order_by, offset=offset, limit=limit
            )

    async def get_by_name(self, name: str) -> HeroPublic | None:
        async with self.db.reader() as reader:
            return await reader.project(Hero, HeroPublic).first(name=name)

    async def items(
        self, hero_id: int, *, offset: int = 0, limit: int | None = None
    ) -> list[ItemPublic]:
        """The hero's items in id order (`limit` of them from `offset`, when given);
        `NotFoundError` for an unknown hero."""
        async with self.db.reader() as reader:
            items = await reader.project(Item, ItemPublic).list(
                hero_id=hero_id, offset=offset, limit=limit
            )
            if not items and not await reader.project(Hero, HeroPublic).exists(id=hero_id):
                raise NotFoundError(Hero, hero_id)
        return items

    async def transfers(
        self, hero_id: int | None = None, *, offset: int = 0, limit: int | None = None
    ) -> list[TransferLogPublic]:
        """The transfer log, newest first; only `hero_id`'s when given (`limit` entries
        from `offset`, when given)."""
        filters = [] if hero_id is None else [TransferLog.hero_id == hero_id]
        newest_first = [TransferLog.transferred_at.desc(), TransferLog.id.desc()]  # type: ignore[attr-defined, union-attr]
        async with self.db.reader() as reader:
            return await reader.project(TransferLog, TransferLogPublic).list(
                *filters, order_by=newest_first, offset=offset, limit=limit
            )

    # --- writes ------------------------------------------------------------------------

    async def create(self, data: HeroCreate) -> Hero:
        """The hero, and its powers when `data` gives some (HeroCreateWithPowers): both
        or neither; an unknown power is a `ForeignKeyError` naming it."""
        require(data, HeroCreate)
        async with self.db.transaction() as session:
            if isinstance(data, HeroCreateWithPowers) and data.powers:
                return await Repository(Hero, session).create_with_links(data)
            fields = data.model_dump(exclude={"powers"})
            return await Repository(Hero, session).create(fields)

    async def update(self, hero_id: int, data: HeroUpdate) -> Hero:
        """Partial update: fields sent as null become null, fields not sent are kept.

        Not retried on a version conflict: another request changed the hero after this
        one read it, a change the sender of this one has not seen; applying it anyway
        would be a lost update, so the caller gets `ConcurrentUpdateError` (409) and
        re-reads."""
        require(data, HeroUpdate)
        async with self.db.transaction() as session:
            return await Repository(Hero, session).update(hero_id, data)

    async def update_power(self, hero_id: int, power_level: float) -> Hero:
        return await self.update(hero_id, HeroUpdate(power_level=power_level))

    async def delete(self, hero_id: int) -> None:
        """Delete the hero (its items and transfer log go with it)."""
        async with self.db.transaction() as session:
            if not await Repository(Hero, session).delete(hero_id):
                raise NotFoundError(Hero, hero_id)

    async def add_item(self, hero_id: int, data: ItemCreate) -> Item:
        """The new item; an unknown hero is a `NotFoundError` (404), not a foreign-key
        refusal naming a field the client did not send."""
        require(data, ItemCreate)
        async with self.db.transaction() as session:
            await Repository(Hero, session).get_one(hero_id)
            return await Repository(Item, session).create(Item(name=data.name, hero_id=hero_id))

    async def transfer(self, hero_id: int, team_id: int) -> Hero:
        """Move the hero to `team_id` and log it: both commit, or neither.

        A version conflict is retried, not answered 409: the unit re-reads the hero and
        the team it leaves, so running it again moves the hero as asked and logs where
        it really was; nothing another request wrote is lost."""
        work = partial(move_hero, hero_id=hero_id, team_id=team_id)
        return await self.db.run_in_transaction(work, retry_on=(ConcurrentUpdateError,))


async def move_hero(session: AsyncSession, *, hero_id: int, team_id: int) -> Hero:
    """The transfer's unit of work. Nothing is refreshed before the commit:
    `session.refresh(hero)` would reload the old team and drop the change."""
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
