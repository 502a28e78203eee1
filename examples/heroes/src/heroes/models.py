"""The Heroes domain: table models and the API's schemas.

The schemas follow the SQLModel tutorial's "relationships" app field for field; table
models are never request bodies, so a client cannot set `id`.

No `from __future__ import annotations` here: SQLModel resolves relationships from the
runtime annotations.
"""

from datetime import UTC, datetime
from typing import Annotated, TypeVar

import sqlalchemy as sa
from annotated_types import Interval
from pydantic import AfterValidator, FiniteFloat, StringConstraints, field_validator
from sqlmodel import Field, Relationship, SQLModel

from sqlmodel_async import ExactText, UTCDateTime

#: The range of an INTEGER column on every backend: larger ids can name no row.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
#: MariaDB's VARCHAR default; longer strings would be refused by the database.
NAME_LENGTH = 255


T = TypeVar("T")


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; refuse it on every backend, as a 422.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, StringConstraints(max_length=NAME_LENGTH), AfterValidator(_no_nul)]
DbInt = Annotated[int, Interval(ge=INT_MIN, le=INT_MAX)]
#: NaN and infinities: MariaDB refuses them and JSON cannot carry them back.
PowerLevel = FiniteFloat

#: Hero names compare exactly (case, accents and trailing spaces) on every backend:
#: MariaDB's default collation ignores case, and pads trailing spaces, which would make
#: "batman" and "Batman " duplicates of "Batman" there (ExactText: a binary NO PAD one).
NameType = ExactText(NAME_LENGTH)


def _not_null(value: T | None) -> T:
    """An explicit null for a column that cannot be null is the client's mistake (422
    naming the field), not something to send to the database. Runs only for fields
    that were sent: a field left out is kept."""
    if value is None:
        raise ValueError("cannot be null")
    return value


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- teams ------------------------------------------------------------------------------


class TeamBase(SQLModel):
    name: Text = Field(index=True)
    headquarters: Text


class Team(TeamBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # passive_deletes: the database's ON DELETE SET NULL unlinks the heroes, so deleting
    # a team needs no load of its heroes first.
    heroes: list["Hero"] = Relationship(
        back_populates="team",
        passive_deletes=True,
        sa_relationship_kwargs={"order_by": "Hero.id"},
    )


class TeamCreate(TeamBase):
    pass


class TeamPublic(TeamBase):
    id: int


class TeamUpdate(SQLModel):
    name: Text | None = None
    headquarters: Text | None = None

    _required_stay_set = field_validator("name", "headquarters")(_not_null)


# --- heroes -----------------------------------------------------------------------------


class HeroBase(SQLModel):
    name: Text = Field(sa_type=NameType, unique=True)
    secret_name: Text
    age: DbInt | None = Field(default=None, index=True)
    team_id: DbInt | None = Field(
        default=None, foreign_key="team.id", ondelete="SET NULL", index=True
    )
    # Double, not FLOAT: MariaDB's single-precision FLOAT would turn 95.3 into 95.3000030517578.
    power_level: PowerLevel = Field(default=50.0, sa_type=sa.Double)


#: Optimistic concurrency: the ORM writes a hero with `WHERE version = <the version read>`
#: and bumps it, so a write based on a stale read is refused (ConcurrentUpdateError, 409)
#: instead of silently undoing the other one. Built here because `__mapper_args__` needs the
#: Column itself; the server default gives rows written outside the ORM a version.
_hero_version = sa.Column("version", sa.Integer, nullable=False, server_default="1")


class Hero(HeroBase, table=True):
    __mapper_args__ = {"version_id_col": _hero_version}

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, sa_column=_hero_version)
    team: Team | None = Relationship(back_populates="heroes")
    items: list["Item"] = Relationship(
        back_populates="hero",
        passive_deletes=True,
        sa_relationship_kwargs={"order_by": "Item.id"},
    )
    # Through the link table (HeroPowerLink, below): named, as the link model comes later.
    powers: list["Power"] = Relationship(
        back_populates="heroes", passive_deletes=True,
        sa_relationship_kwargs={"secondary": "heropowerlink"},
    )


class HeroCreate(HeroBase):
    pass


class HeroPublic(HeroBase):
    id: int


class HeroUpdate(SQLModel):
    """Every field optional: a field sent as null becomes null, one not sent is kept."""

    name: Text | None = None
    secret_name: Text | None = None
    age: DbInt | None = None
    team_id: DbInt | None = None
    power_level: PowerLevel | None = None

    _required_stay_set = field_validator("name", "secret_name", "power_level")(_not_null)


class HeroPublicWithTeam(HeroPublic):
    team: TeamPublic | None = None


class TeamPublicWithHeroes(TeamPublic):
    heroes: list[HeroPublic] = []


# --- items ------------------------------------------------------------------------------


class ItemBase(SQLModel):
    name: Text


class Item(ItemBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    hero_id: int = Field(foreign_key="hero.id", ondelete="CASCADE", index=True)
    hero: Hero | None = Relationship(back_populates="items")


class ItemCreate(ItemBase):
    pass


class ItemPublic(ItemBase):
    id: int
    hero_id: int


class HeroPublicWithItems(HeroPublic):
    items: list[ItemPublic] = []


class TeamRoster(TeamPublic):
    """A team, its heroes and each hero's items (one nested eager load)."""

    heroes: list[HeroPublicWithItems] = []


# --- transfers --------------------------------------------------------------------------


class TransferLog(SQLModel, table=True):
    """One hero changing teams. The log outlives the teams it names (SET NULL) and goes
    with its hero (CASCADE), so it never blocks deleting either."""

    id: int | None = Field(default=None, primary_key=True)
    hero_id: int = Field(foreign_key="hero.id", ondelete="CASCADE", index=True)
    from_team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    to_team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    transferred_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)


class TransferRequest(SQLModel):
    team_id: DbInt


class TransferLogPublic(SQLModel):
    id: int
    hero_id: int
    from_team_id: int | None
    to_team_id: int | None
    transferred_at: datetime


# --- powers -----------------------------------------------------------------------------


class PowerBase(SQLModel):
    name: Text = Field(sa_type=NameType, unique=True)


class HeroPowerLinkBase(SQLModel):
    level: DbInt


class HeroPowerLink(HeroPowerLinkBase, table=True):
    """A hero has a power at a level. The links go with their hero (CASCADE); a power
    that heroes have cannot be deleted (RESTRICT)."""

    hero_id: int = Field(foreign_key="hero.id", primary_key=True, ondelete="CASCADE")
    power_id: int = Field(
        foreign_key="power.id", primary_key=True, ondelete="RESTRICT", index=True
    )
    # The link rows' own view of both ends (a power's heroes with their levels); the
    # many-to-many Hero.powers / Power.heroes write the same rows.
    hero: Hero = Relationship(sa_relationship_kwargs={"overlaps": "powers,heroes"})
    power: "Power" = Relationship(sa_relationship_kwargs={"overlaps": "powers,heroes"})


class Power(PowerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    heroes: list[Hero] = Relationship(
        back_populates="powers", link_model=HeroPowerLink, passive_deletes=True
    )


class PowerCreate(PowerBase):
    pass


class PowerPublic(PowerBase):
    id: int


class PowerLink(SQLModel):
    """One of a hero's powers as a client writes it: `{"power_id": 1, "level": 3}`."""

    power_id: DbInt
    level: DbInt


class HeroPowerPublic(HeroPowerLinkBase):
    """One of a hero's powers as the API answers it: `{"level": 3, "power": {...}}`."""

    power: PowerPublic


class PowerHeroPublic(HeroPowerLinkBase):
    """One of a power's heroes: `{"level": 3, "hero": {...}}`."""

    hero: HeroPublic


class PowerPublicWithHeroes(PowerPublic):
    heroes: list[PowerHeroPublic] = []


class HeroCreateWithPowers(HeroCreate):
    """`POST /heroes/`: a hero, and optionally its powers (written in the same transaction)."""

    powers: list[PowerLink] | None = None
