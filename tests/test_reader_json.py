"""`get_json()` / `list_json()` of `reader.project()` (projected.py, schema_json.py) on
every backend: the bytes the schema's own serializer writes for the instances, for every
read shape; built from plain dicts where that gives the same bytes, from instances where
the schema's JSON has hooks of its own (serializers, aliases, computed or excluded fields,
validation)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    computed_field,
    field_serializer,
)
from sqlmodel import SQLModel

from sqlmodel_async import Database, NotFoundError
from sqlmodel_async.projection import projection_for

from .models import Hero, Measurement, MeasurementKind, Team
from .schemas import (
    HeroConverted,
    HeroPublic,
    HeroPublicWithTeam,
    HeroShouting,
    HeroTeamFirst,
    TeamPublic,
    TeamPublicWithHeroes,
    TeamRoster,
)
from .support.seeds import teams_heroes_and_items as seed


class HeroAliased(SQLModel):
    id: int
    name: str = Field(serialization_alias="heroName")


class HeroNamedByGenerator(BaseModel):
    model_config = ConfigDict(alias_generator=str.upper)

    id: int
    name: str


class HeroLoud(SQLModel):
    id: int
    name: str

    @field_serializer("name")
    def loud(self, value: str) -> str:
        return value.upper() + "!"


class HeroWithLabel(SQLModel):
    id: int
    name: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        return f"#{self.id} {self.name}"


class HeroWithoutSecret(SQLModel):
    id: int
    secret_name: str = Field(exclude=True)


class HeroDoubledAge(SQLModel):
    """A serializer carried by the field's type: the dict path keeps it."""

    id: int
    age: Annotated[int | None, PlainSerializer(lambda v: None if v is None else v * 2)]


class TeamOfLoudHeroes(TeamPublic):
    """A nested schema with a hook: the whole body comes from instances."""

    heroes: list[HeroLoud] = []


class HeroFloatsAsStrings(SQLModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")

    id: int
    power_level: float


class MeasurementPublic(BaseModel):
    id: int
    taken_at: datetime
    amount: Decimal
    kind: MeasurementKind


#: Schemas written from dicts, and the ones that need their instances.
FROM_DICTS = [
    (Hero, HeroPublic), (Hero, HeroPublicWithTeam), (Hero, HeroTeamFirst),
    (Team, TeamPublicWithHeroes), (Team, TeamRoster), (Hero, HeroDoubledAge),
    (Hero, HeroFloatsAsStrings),
]
FROM_INSTANCES = [
    (Hero, HeroAliased), (Hero, HeroNamedByGenerator), (Hero, HeroLoud),
    (Hero, HeroWithLabel), (Hero, HeroWithoutSecret), (Team, TeamOfLoudHeroes),
    (Hero, HeroConverted), (Hero, HeroShouting),
]


def expected(schema: Any, value: Any) -> bytes:
    """What FastAPI's `response_model=schema` writes for `value`."""
    return TypeAdapter(schema).dump_json(value, by_alias=True)


@pytest.mark.parametrize(("model", "schema"), FROM_DICTS + FROM_INSTANCES,
                         ids=lambda value: value.__name__)
async def test_the_json_is_the_schemas_own(db: Database, model: Any, schema: Any) -> None:
    data = await seed(db)
    keys = data["heroes"] if model is Hero else [data["full"], data["empty"]]
    async with db.reader() as reader:
        for key in keys:
            body = await reader.project(model, schema).get_json(key)
            assert body == expected(schema, await reader.project(model, schema).get_one(key))
        for offset, limit in [(0, None), (1, 2), (50, 10)]:
            body = await reader.project(model, schema).list_json(offset=offset, limit=limit)
            instances = await reader.project(model, schema).list(offset=offset, limit=limit)
            assert body == expected(list[schema], instances)
        projected = reader.project(model, schema)
        filtered = await projected.list_json(model.id > keys[0])
        assert filtered == expected(list[schema], await projected.list(model.id > keys[0]))


def test_dicts_are_used_only_where_they_give_the_same_bytes() -> None:
    for model, schema in FROM_DICTS:
        assert projection_for(model, schema).json_serializer(many=True).plain, schema
    for model, schema in FROM_INSTANCES:
        assert not projection_for(model, schema).json_serializer(many=True).plain, schema


async def test_hooks_and_aliases_show_in_the_body(db: Database) -> None:
    """The fallback is not a silent loss: the schema's own JSON, hooks applied."""
    data = await seed(db)
    first = data["heroes"][0]
    async with db.reader() as reader:
        aliased = await reader.project(Hero, HeroAliased).get_json(first)
        assert b'"heroName"' in aliased and b'"name"' not in aliased
        assert b'!"' in await reader.project(Hero, HeroLoud).get_json(first)
        assert b'"label":"#' in await reader.project(Hero, HeroWithLabel).get_json(first)
        assert b"secret" not in await reader.project(Hero, HeroWithoutSecret).get_json(first)
        team = await reader.project(Team, TeamOfLoudHeroes).get_json(data["full"])
        assert team.count(b'!"') == 3


async def test_values_sqlalchemy_converts_are_written_converted(db: Database) -> None:
    taken = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    async with db.transaction() as session:
        row = Measurement(taken_at=taken, amount=Decimal("12.34"), kind=MeasurementKind.SENSOR)
        session.add(row)
    async with db.reader() as reader:
        body = await reader.project(Measurement, MeasurementPublic).get_json(row.id)
        assert body == expected(
            MeasurementPublic,
            await reader.project(Measurement, MeasurementPublic).get_one(row.id),
        )
        assert b'"2024-05-06T07:08:09Z"' in body and b'"12.34"' in body
        listed = await reader.project(Measurement, MeasurementPublic).list_json()
        assert listed == b"[" + body + b"]"


async def test_missing_rows_and_bad_arguments(db: Database) -> None:
    await seed(db)
    async with db.reader() as reader:
        with pytest.raises(NotFoundError) as missing:
            await reader.project(Hero, HeroPublicWithTeam).get_json(10_000)
        assert missing.value.key == 10_000
        with pytest.raises(ValueError, match="offset"):
            await reader.project(Hero, HeroPublic).list_json(offset=-1)
        with pytest.raises(ValueError, match="limit"):
            await reader.project(Hero, HeroPublic).list_json(limit=-1)
        assert await reader.project(Hero, HeroPublic).list_json(limit=0) == b"[]"
        assert await reader.project(Hero, HeroPublic).list_json(name="nobody") == b"[]"
