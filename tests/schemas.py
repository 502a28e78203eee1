"""Response schemas over the suite's models (tests/models.py), shared by the projection,
reader and PgBouncer tests: plain columns, a many-to-one, collections, nested collections,
and fields the database does not hand back as-is."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, field_validator
from sqlmodel import SQLModel


class TeamPublic(SQLModel):
    id: int
    name: str
    headquarters: str


class HeroPublic(SQLModel):
    name: str
    secret_name: str
    age: int | None
    team_id: int | None
    power_level: float
    id: int


class HeroPublicWithTeam(HeroPublic):
    team: TeamPublic | None = None


class TeamPublicWithHeroes(TeamPublic):
    heroes: list[HeroPublic] = []


class ItemPublic(SQLModel):
    id: int
    name: str
    hero_id: int


class HeroWithItems(HeroPublic):
    items: list[ItemPublic] = []


class TeamRoster(TeamPublic):
    heroes: list[HeroWithItems] = []


class HeroConverted(BaseModel):
    """Fields the database does not hand back as-is: an int column read as float, and a
    datetime: built through validation."""

    id: int
    age: float | None
    created_at: datetime | None


class HeroTeamFirst(SQLModel):
    """The relationship before the columns: the JSON key order is the schema's."""

    team: TeamPublic | None = None
    name: str
    id: int


class HeroShouting(SQLModel):
    """A validator on the schema class may transform: it runs."""

    id: int
    name: str

    @field_validator("name")
    @classmethod
    def shout(cls, value: str) -> str:
        return value.upper()
