"""Filter sets (`FilterSet`, `Filter`, `Sort`): every operator, related fields (many-to-one,
one-to-many, many-to-many), sorting, validation, and one filter value on every read path,
on every backend."""

# No `from __future__ import annotations`: SQLModel resolves relationships at run time.

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, SQLModel, col

from sqlmodel_async import (
    CursorCodec,
    Database,
    Filter,
    FilterQuery,
    FilterSet,
    InvalidCursorError,
    InvalidFilterError,
    Repository,
    Sort,
)
from sqlmodel_async.pagination import filter_binding

from .support.databases import database_fixture


class Base(SQLModel, registry=registry()):
    pass


class PowerLink(Base, table=True):
    __tablename__ = "f_power_link"

    hero_id: int | None = Field(
        default=None, foreign_key="f_hero.id", primary_key=True, ondelete="CASCADE"
    )
    power_id: int | None = Field(
        default=None, foreign_key="f_power.id", primary_key=True, ondelete="CASCADE"
    )
    level: int = 1


class FTeam(Base, table=True):
    __tablename__ = "f_team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    heroes: list["FHero"] = Relationship(back_populates="team")


class FPower(Base, table=True):
    __tablename__ = "f_power"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    heroes: list["FHero"] = Relationship(back_populates="powers", link_model=PowerLink)


class FHero(Base, table=True):
    __tablename__ = "f_hero"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    age: int | None = Field(default=None, index=True)
    power_level: float = 50.0
    team_id: int | None = Field(default=None, foreign_key="f_team.id", ondelete="SET NULL")
    team: FTeam | None = Relationship(back_populates="heroes")
    powers: list[FPower] = Relationship(back_populates="heroes", link_model=PowerLink)


class HeroOut(BaseModel):
    id: int
    name: str
    age: int | None


class HeroFilters(FilterSet[FHero]):
    name = Filter(ops=["eq", "ne", "in", "icontains", "istartswith"])
    age = Filter(ops=["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "isnull"])
    power_level = Filter(ops=["gt"])
    team__name = Filter(ops=["eq", "icontains", "isnull"])
    powers__name = Filter(ops=["eq", "in"])
    sort = Sort(["name", "age", "id", "power_level"])


class TeamFilters(FilterSet[FTeam]):
    name = Filter()
    heroes__name = Filter(ops=["eq", "icontains"])
    heroes__age = Filter(ops=["gt", "lt"])
    sort = Sort(["name", "id"], default=["-name"])


#: name, age, team (index into TEAMS or None), powers
HEROES: list[tuple[str, int | None, int | None, list[str]]] = [
    ("Deadpond", 30, 0, ["fly"]),
    ("Spider-Boy", 16, 1, ["web", "fly"]),
    ("Rusty-Man", 48, 1, []),
    ("100% Hero", 30, None, ["laser"]),
    ("under_score", None, 2, ["web"]),
    ("slash/man", 60, 0, []),
    ("Tarantula", 32, None, ["web"]),
    ("dr. weird", None, 2, ["laser", "fly"]),
    ("DEADPOOL", 30, 0, []),
]
TEAMS = ["Preventers", "Z-Force", "50%_Club"]


async def fill(database: Database) -> None:
    async with database.transaction() as session:
        teams = [FTeam(name=name) for name in TEAMS]
        powers = {name: FPower(name=name) for name in ("fly", "web", "laser")}
        session.add_all([*teams, *powers.values()])
        await session.flush()
        for name, age, team, hero_powers in HEROES:
            session.add(
                FHero(
                    name=name,
                    age=age,
                    power_level=float(len(name)),
                    team_id=None if team is None else teams[team].id,
                    powers=[powers[p] for p in hero_powers],
                )
            )


db = database_fixture(Base.metadata, seed=fill)


async def names(db: Database, params: dict[str, Any]) -> list[str]:
    query = HeroFilters.parse(params)
    async with db.session() as session:
        found = await Repository(FHero, session).list(*query.where, order_by=query.order_by)
    return [hero.name for hero in found]


def expected(keep: Callable[[tuple[str, int | None, int | None, list[str]]], bool]) -> list[str]:
    """The heroes (in id order) for which `keep` holds, computed in Python."""
    return [hero[0] for hero in HEROES if keep(hero)]


CASES: list[tuple[dict[str, Any], Callable[..., bool]]] = [
    ({"age": "30"}, lambda h: h[1] == 30),
    ({"age__ne": 30}, lambda h: h[1] != 30),  # rows without an age included
    ({"age__lt": 30}, lambda h: h[1] is not None and h[1] < 30),
    ({"age__lte": 30}, lambda h: h[1] is not None and h[1] <= 30),
    ({"age__gt": "30"}, lambda h: h[1] is not None and h[1] > 30),
    ({"age__gte": 30}, lambda h: h[1] is not None and h[1] >= 30),
    ({"age__in": ["16", "48"]}, lambda h: h[1] in (16, 48)),
    ({"age__not_in": [30, 16]}, lambda h: h[1] not in (30, 16)),
    ({"age__isnull": "true"}, lambda h: h[1] is None),
    ({"age__isnull": False}, lambda h: h[1] is not None),
    ({"name__ne": "Deadpond"}, lambda h: h[0] != "Deadpond"),
    ({"name__in": ["Deadpond", "nobody"]}, lambda h: h[0] == "Deadpond"),
    ({"power_level__gt": "8.5"}, lambda h: len(h[0]) > 8.5),
    ({"age__gte": 20, "age__lt": 40}, lambda h: h[1] is not None and 20 <= h[1] < 40),
    ({}, lambda h: True),
]


@pytest.mark.parametrize(("params", "keep"), CASES, ids=[str(case[0]) for case in CASES])
async def test_each_operator_selects_what_python_would(
    db: Database, params: dict[str, Any], keep: Callable[..., bool]
) -> None:
    assert await names(db, params) == expected(keep)


TEXT_CASES: list[tuple[dict[str, str], list[str]]] = [
    # case-insensitive
    ({"name__icontains": "dead"}, ["Deadpond", "DEADPOOL"]),
    ({"name__istartswith": "DEAD"}, ["Deadpond", "DEADPOOL"]),
    ({"name__icontains": "MAN"}, ["Rusty-Man", "slash/man"]),
    # %, _ and the escape character match themselves, never as wildcards
    ({"name__icontains": "%"}, ["100% Hero"]),
    ({"name__icontains": "0%"}, ["100% Hero"]),
    ({"name__icontains": "_"}, ["under_score"]),
    ({"name__istartswith": "_"}, []),
    ({"name__icontains": "/"}, ["slash/man"]),
    ({"name__icontains": "h/m"}, ["slash/man"]),
    ({"name__icontains": "//"}, []),
    ({"name__istartswith": "%"}, []),
    ({"name__icontains": "r."}, ["dr. weird"]),
    ({"name__icontains": "'; --"}, []),
]


@pytest.mark.parametrize(("params", "found"), TEXT_CASES, ids=[str(c[0]) for c in TEXT_CASES])
async def test_text_matching_is_the_same_on_every_backend(
    db: Database, params: dict[str, str], found: list[str]
) -> None:
    assert await names(db, params) == found


async def test_many_to_one_through_the_relationship(db: Database) -> None:
    assert await names(db, {"team__name": "Preventers"}) == ["Deadpond", "slash/man", "DEADPOOL"]
    assert await names(db, {"team__name__icontains": "%_c"}) == ["under_score", "dr. weird"]
    # Conditions on one relation apply to one related row, and heroes without a team never
    # match a condition on the team.
    assert await names(db, {"team__name": "Z-Force", "team__name__icontains": "force"}) == [
        "Spider-Boy",
        "Rusty-Man",
    ]
    assert await names(db, {"team__name": "Z-Force", "team__name__icontains": "prev"}) == []


async def test_one_to_many_collection_through_exists(db: Database) -> None:
    async def teams(params: dict[str, Any]) -> list[str]:
        query = TeamFilters.parse(params)
        async with db.session() as session:
            found = await Repository(FTeam, session).list(*query, order_by=query.order_by)
        return [team.name for team in found]

    assert await teams({"heroes__name": "Rusty-Man"}) == ["Z-Force"]
    assert await teams({"heroes__name__icontains": "dead"}) == ["Preventers"]
    # The default sort is -name (ids as tie-breaker).
    assert await teams({"heroes__age__gt": 30}) == ["Z-Force", "Preventers"]
    # Both conditions hold for one and the same hero: none of Z-Force's is both > 40 and < 20.
    assert await teams({"heroes__age__gt": 40, "heroes__age__lt": 50}) == ["Z-Force"]
    assert await teams({"heroes__age__gt": 40, "heroes__name": "Spider-Boy"}) == []
    # Each team once, whatever number of heroes match.
    assert await teams({"heroes__name__icontains": "e"}) == ["Z-Force", "Preventers", "50%_Club"]


async def test_many_to_many_through_the_link_table(db: Database) -> None:
    assert await names(db, {"powers__name": "laser"}) == ["100% Hero", "dr. weird"]
    assert await names(db, {"powers__name__in": ["web", "laser"]}) == [
        "Spider-Boy", "100% Hero", "under_score", "Tarantula", "dr. weird",
    ]
    assert await names(db, {"powers__name": "fly", "age__lt": 20}) == ["Spider-Boy"]


async def test_sort_keys_with_the_primary_key_as_tie_breaker(db: Database) -> None:
    # (Text sorts as the column's collation says: MariaDB's default ignores case.)
    by_age = await names(db, {"sort": "-age,power_level"})
    ids = {hero[0]: index for index, hero in enumerate(HEROES)}
    ordered = sorted(
        (hero for hero in HEROES if hero[1] is not None),
        key=lambda h: (-(h[1] or 0), len(h[0]), ids[h[0]]),
    )
    # (NULLs sort where the backend puts them: first here on PostgreSQL, last elsewhere.)
    with_age = {hero[0] for hero in ordered}
    assert [name for name in by_age if name in with_age] == [hero[0] for hero in ordered]
    # Equal ages (30): the primary key decides, in the direction of the last key.
    query = HeroFilters.parse({"sort": "-age"})
    assert [str(item) for item in query.order_by or []] == [
        str(col(FHero.age).desc()),
        str(col(FHero.id).desc()),
    ]
    assert await names(db, {"sort": "-age", "age": 30}) == ["DEADPOOL", "100% Hero", "Deadpond"]
    # The primary key alone, ascending: None, the read paths' default order.
    assert HeroFilters.parse({}).order_by is None
    assert HeroFilters.parse({"sort": "id"}).order_by is None
    assert HeroFilters.parse({"sort": "-id"}).order_by is not None


@pytest.mark.parametrize(
    ("params", "parameter", "message"),
    [
        ({"secret_name": "x"}, "secret_name", "unknown filter 'secret_name'"),
        ({"age__like": "3"}, "age__like", "unknown operator 'like'"),
        ({"name__gt": "a"}, "name__gt", "operator 'gt' is not allowed on name"),
        ({"name__eq": "a"}, "name__eq", "name=value"),
        ({"age": "thirty"}, "age", "valid integer"),
        ({"age__gt": 2**31}, "age__gt", "2147483647"),
        ({"age__in": [str(n) for n in range(101)]}, "age__in", "at most 100"),
        ({"age__isnull": "maybe"}, "age__isnull", "boolean"),
        ({"name": "nul\x00"}, "name", "NUL"),
        ({"name__icontains": "nul\x00"}, "name__icontains", "NUL"),
        ({"power_level__gt": "nan"}, "power_level__gt", "finite"),
        ({"sort": "-age,secret_name"}, "sort", "unknown sort key 'secret_name'"),
        ({"sort": "--age"}, "sort", "unknown sort key '--age'"),
    ],
)
def test_bad_parameters_are_refused_naming_them(
    params: dict[str, Any], parameter: str, message: str
) -> None:
    with pytest.raises(InvalidFilterError) as raised:
        HeroFilters.parse(params)
    assert raised.value.column == parameter
    assert message in raised.value.message


def test_declarations_are_checked_against_the_model() -> None:
    class Misspelt(FilterSet[FHero]):
        nmae = Filter()

    with pytest.raises(TypeError, match="FHero has no column 'nmae'"):
        Misspelt.parse({})

    class NoRelation(FilterSet[FHero]):
        squad__name = Filter()

    with pytest.raises(TypeError, match="no relationship 'squad'"):
        NoRelation.parse({})

    class RelatedSort(FilterSet[FHero]):
        sort = Sort(["team__name"])

    with pytest.raises(TypeError, match="sort by columns of FHero"):
        RelatedSort.parse({})

    with pytest.raises(ValueError, match="unknown filter operator"):
        Filter(ops=["like"])  # type: ignore[list-item]


def test_a_request_binds_values_into_a_cached_plan() -> None:
    resolved = HeroFilters._resolve()
    first = HeroFilters.parse({"age__gt": 10, "team__name": "A"})
    plans = dict(resolved._plans)
    second = HeroFilters.parse({"team__name": "B", "age__gt": 20})
    assert resolved._plans == plans  # same parameters, same plan: only values differ
    assert str(sa.and_(*first.where)) == str(sa.and_(*second.where))
    # Values are bound parameters, never SQL text.
    hostile = HeroFilters.parse({"name": "x' OR '1'='1"})
    compiled = sa.select(FHero).where(*hostile).compile()
    assert "OR '1'" not in str(compiled)
    assert "x' OR '1'='1" in compiled.params.values()


async def test_one_filter_value_feeds_every_read_path(db: Database) -> None:
    query = HeroFilters.parse({"age__gte": 20, "team__name__isnull": False, "sort": "-age"})
    want = ["slash/man", "Rusty-Man", "DEADPOOL", "Deadpond"]
    codec = CursorCodec("s" * 32)
    async with db.session() as session:
        heroes = Repository(FHero, session)
        assert [h.name for h in await heroes.list(*query, order_by=query.order_by)] == want
        assert await heroes.count(*query) == 4
        first = await heroes.first(*query, order_by=query.order_by)
        assert first is not None and first.name == want[0]
        page = await heroes.paginate(*query, page=2, size=3, order_by=query.order_by)
        assert (page.total, [h.name for h in page.items]) == (4, want[3:])
        walked: list[str] = []
        after = None
        while True:
            cursor_page = await heroes.paginate_cursor(
                *query, limit=3, after=after, order_by=query.order_by, secret=codec
            )
            walked += [h.name for h in cursor_page.items]
            if cursor_page.next_cursor is None:
                break
            after = cursor_page.next_cursor
        assert walked == want
        streamed = [
            h.name async for h in heroes.stream(*query, batch_size=2, order_by=query.order_by)
        ]
        assert streamed == want
        rows = heroes.stream_rows(*query, batch_size=2, order_by=query.order_by, columns=["name"])
        assert [row["name"] async for row in rows] == want
        projected = await heroes.project(HeroOut).list(*query, order_by=query.order_by)
        assert [h.name for h in projected] == want
    async with db.reader() as reader:
        listed = await reader.project(FHero, HeroOut).list(*query, order_by=query.order_by)
        assert [h.name for h in listed] == want
        body = await reader.project(FHero, HeroOut).list_json(*query, order_by=query.order_by)
        assert [h["name"] for h in __import__("json").loads(body)] == want
    # Plain WHERE clauses: the set-based writes take them as they are.
    async with db.transaction() as session:
        assert await Repository(FHero, session).update_where({"power_level": 0.0}, *query) == 4
    async with db.session() as session:
        assert await Repository(FHero, session).count(power_level=0.0) == 4
    older = HeroFilters.parse({"age__gte": 30})
    async with db.transaction() as session:
        expected = await Repository(FHero, session).count(*older)
        assert await Repository(FHero, session).delete_where(*older) == expected
        assert await Repository(FHero, session).count(*older) == 0


async def test_a_cursor_is_bound_to_its_filters_and_sort(db: Database) -> None:
    codec = CursorCodec("s" * 32)

    async def cursor_for(params: dict[str, Any]) -> tuple[FilterQuery[FHero], str]:
        query = HeroFilters.parse(params)
        async with db.session() as session:
            page = await Repository(FHero, session).paginate_cursor(
                *query, limit=2, order_by=query.order_by, secret=codec
            )
        assert page.next_cursor is not None
        return query, page.next_cursor

    async def replay(params: dict[str, Any], cursor: str) -> list[str]:
        query = HeroFilters.parse(params)
        async with db.session() as session:
            page = await Repository(FHero, session).paginate_cursor(
                *query, limit=2, after=cursor, order_by=query.order_by, secret=codec
            )
        return [hero.name for hero in page.items]

    _, cursor = await cursor_for({"age__gte": 20})
    assert await replay({"age__gte": 20}, cursor)  # the same filters: the next page
    for other in (
        {"age__gte": 21},  # the same filter with another value
        {"age__gte": 20, "name__ne": "x"},  # another filter added
        {},  # the filter dropped
        {"age__gte": 20, "sort": "-age"},  # another sort
        {"team__name": "Z-Force"},
    ):
        with pytest.raises(InvalidCursorError):
            await replay(other, cursor)
    # Without filters, a cursor still carries only the keyset: the same as before filters.
    _, plain = await cursor_for({})
    assert await replay({}, plain)
    with pytest.raises(InvalidCursorError):
        await replay({"age__gte": 0}, plain)
    # The binding covers the values: the same shape with other values differs.
    a = sa.select(FHero).where(*HeroFilters.parse({"name__in": ["a", "b"]}))
    b = sa.select(FHero).where(*HeroFilters.parse({"name__in": ["a", "c"]}))
    assert filter_binding(a) != filter_binding(b)
    assert filter_binding(sa.select(FHero)) == ""
