"""The library suite's own Heroes-shaped models, in their own registry and tables, so they
never meet the reference service's models."""


import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, SQLModel

from sqlmodel_async import UTCDateTime


class Base(SQLModel, registry=registry()):
    pass


metadata = Base.metadata


class Team(Base, table=True):
    __tablename__ = "t_team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    headquarters: str
    heroes: list["Hero"] = Relationship(back_populates="team", passive_deletes=True)


class Hero(Base, table=True):
    __tablename__ = "t_hero"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    secret_name: str
    age: int | None = Field(default=None, index=True)
    power_level: float = Field(default=50.0, sa_type=sa.Double)
    team_id: int | None = Field(
        default=None, foreign_key="t_team.id", ondelete="SET NULL", index=True
    )
    created_at: datetime | None = Field(default=None)
    team: Team | None = Relationship(back_populates="heroes")
    items: list["Item"] = Relationship(back_populates="hero", passive_deletes=True)


class Item(Base, table=True):
    __tablename__ = "t_item"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    hero_id: int = Field(foreign_key="t_hero.id", ondelete="CASCADE", index=True)
    hero: Hero | None = Relationship(back_populates="items")


class HeroCreate(SQLModel):
    name: str
    secret_name: str
    age: int | None = None
    power_level: float = 50.0
    team_id: int | None = None


class HeroUpdate(SQLModel):
    name: str | None = None
    secret_name: str | None = None
    age: int | None = None
    power_level: float | None = None
    team_id: int | None = None


class TransferLog(Base, table=True):
    """One row per committed transfer (the fault suite's contention tests)."""

    __tablename__ = "t_transfer_log"

    id: int | None = Field(default=None, primary_key=True)
    hero_id: int = Field(foreign_key="t_hero.id", ondelete="CASCADE", index=True)
    from_team_id: int | None = Field(default=None)
    to_team_id: int = Field(foreign_key="t_team.id")


class Guild(Base, table=True):
    """A parent whose children block its deletion (RESTRICT), for still-referenced errors."""

    __tablename__ = "t_guild"

    id: int | None = Field(default=None, primary_key=True)
    name: str


class Member(Base, table=True):
    __tablename__ = "t_member"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    guild_id: int = Field(foreign_key="t_guild.id", ondelete="RESTRICT")


class Gauge(Base, table=True):
    """A CHECK constraint with a known name."""

    __tablename__ = "t_gauge"
    __table_args__ = (sa.CheckConstraint("level >= 0", name="ck_gauge_level"),)

    id: int | None = Field(default=None, primary_key=True)
    level: int


def _badge_token() -> str:
    import uuid

    return uuid.uuid4().hex


class Badge(Base, table=True):
    """Bulk writes: a composite unique key, a default and per-row default factories."""

    __tablename__ = "t_badge"
    __table_args__ = (sa.UniqueConstraint("owner", "code", name="uq_badge_owner_code"),)

    id: int | None = Field(default=None, primary_key=True)
    owner: str
    code: str
    points: int = Field(default=10)
    token: str = Field(default_factory=_badge_token)
    note: str | None = Field(default=None)


#: The version column is built here so `__mapper_args__` can name it (the ORM needs the
#: Column object); `server_default` gives rows written outside the ORM a version too.
_account_version = sa.Column("version", sa.Integer, nullable=False, server_default="1")


class Account(Base, table=True):
    """Optimistic concurrency: the ORM's UPDATE/DELETE check `WHERE version = :read` and
    bump it, so a write based on a stale read matches no row."""

    __tablename__ = "t_account"
    __mapper_args__ = {"version_id_col": _account_version}

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(unique=True)
    balance: int = 0
    note: str | None = None
    version: int = Field(default=1, sa_column=_account_version)


class MeasurementKind(enum.Enum):
    MANUAL = "manual"
    SENSOR = "sensor"


class Measurement(Base, table=True):
    """Columns whose values SQLAlchemy converts on the way out (a TypeDecorator, Numeric,
    Enum): reads of them must not skip that conversion."""

    __tablename__ = "t_measurement"

    id: int | None = Field(default=None, primary_key=True)
    taken_at: datetime = Field(sa_type=UTCDateTime)
    amount: Decimal = Field(sa_type=sa.Numeric(10, 2))
    kind: MeasurementKind = Field(sa_type=sa.Enum(MeasurementKind, name="measurement_kind"))
