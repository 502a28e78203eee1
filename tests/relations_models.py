"""Models of every relationship shape (many-to-many through a link model with data,
self-reference, three levels of nesting), in their own registry and tables, with the
response schemas the relationship tests read them as."""

from typing import Optional

from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, SQLModel


class Base(SQLModel, registry=registry()):
    pass


metadata = Base.metadata


class RTeamBase(SQLModel):
    """The fields a team and its response schemas share (how `check_response_models`
    knows which table a schema describes)."""

    name: str


class RTeam(RTeamBase, Base, table=True):
    __tablename__ = "r_team"

    id: int | None = Field(default=None, primary_key=True)
    heroes: list["RHero"] = Relationship(back_populates="team", passive_deletes=True)


class RHeroPower(Base, table=True):
    """A link model with data: how strong the hero is at the power."""

    __tablename__ = "r_hero_power"

    hero_id: int = Field(foreign_key="r_hero.id", primary_key=True, ondelete="CASCADE")
    power_id: int = Field(foreign_key="r_power.id", primary_key=True, ondelete="RESTRICT")
    level: int = 1
    hero: "RHero" = Relationship(sa_relationship_kwargs={"overlaps": "powers,heroes"})
    power: "RPower" = Relationship(sa_relationship_kwargs={"overlaps": "powers,heroes"})


class RHero(Base, table=True):
    __tablename__ = "r_hero"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    team_id: int | None = Field(default=None, foreign_key="r_team.id", ondelete="SET NULL")
    team: RTeam | None = Relationship(back_populates="heroes")
    powers: list["RPower"] = Relationship(back_populates="heroes", link_model=RHeroPower)


class RPower(Base, table=True):
    __tablename__ = "r_power"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    heroes: list[RHero] = Relationship(back_populates="powers", link_model=RHeroPower)


class Category(Base, table=True):
    """A tree: each category has one parent (or none) and its children."""

    __tablename__ = "r_category"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    parent_id: int | None = Field(
        default=None, foreign_key="r_category.id", ondelete="CASCADE"
    )
    parent: Optional["Category"] = Relationship(
        back_populates="children", sa_relationship_kwargs={"remote_side": "Category.id"}
    )
    children: list["Category"] = Relationship(
        back_populates="parent", sa_relationship_kwargs={"order_by": "Category.name"}
    )


# --- response schemas -------------------------------------------------------------------


class PowerPublic(SQLModel):
    id: int
    name: str


class HeroPublic(SQLModel):
    id: int
    name: str
    team_id: int | None


class HeroPowerPublic(SQLModel):
    """A link row: its level, and the power it links to."""

    level: int
    power: PowerPublic


class HeroWithPowers(SQLModel):
    id: int
    name: str
    powers: list[PowerPublic] = []


class HeroWithLevels(SQLModel):
    id: int
    name: str
    powers: list[HeroPowerPublic] = []


class TeamWithPowerfulHeroes(RTeamBase):
    """Three levels: a team, its heroes, their powers with levels."""

    id: int
    heroes: list[HeroWithLevels] = []


class TeamPublic(RTeamBase):
    id: int


class TeamWithHeroes(TeamPublic):
    heroes: list[HeroPublic] = []


class HeroWithTeamAndMates(SQLModel):
    """A many-to-one whose schema nests a collection: read apart, not joined."""

    id: int
    name: str
    team: TeamWithHeroes | None = None


class HeroLevelPublic(SQLModel):
    level: int
    hero: HeroPublic


class PowerWithHeroes(SQLModel):
    id: int
    name: str
    heroes: list[HeroLevelPublic] = []


class PowerWithHeroRows(SQLModel):
    id: int
    name: str
    heroes: list[HeroPublic] = []


class CategoryPublic(SQLModel):
    id: int
    name: str
    parent_id: int | None


class CategoryTree(SQLModel):
    id: int
    name: str
    children: list["CategoryTree"] = []


class CategoryWithParent(SQLModel):
    id: int
    name: str
    parent: CategoryPublic | None = None


class CategoryWithAncestors(SQLModel):
    id: int
    name: str
    parent: Optional["CategoryWithAncestors"] = None
