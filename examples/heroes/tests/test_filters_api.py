"""Filters and sorting on the Heroes listings (`GET /heroes/`, `/heroes/paginated`,
`/heroes/cursor`, `/heroes/export`, `GET /teams/`), on every backend: what they select, the
422s naming a bad parameter, cursors bound to their filters, and generated requests over
the filter parameters that never get a 5xx."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from heroes.api.filters import HeroFilters, TeamFilters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: name, age, team index (or None)
HEROES: list[tuple[str, int | None, int | None]] = [
    ("Deadpond", 30, 0),
    ("Spider-Boy", 16, 1),
    ("Rusty-Man", 48, 1),
    ("100% Hero", 30, None),
    ("under_score", None, 2),
    ("Tarantula", 32, 0),
    ("DEADPOOL", 30, 0),
]
TEAMS = [("Preventers", "Sharp Tower"), ("Z-Force", "Sister Margaret's Bar"), ("50%_Club", "HQ")]


@pytest.fixture
async def seeded(client: httpx.AsyncClient, make_team: Any, make_hero: Any) -> dict[str, int]:
    teams = [(await make_team(name, hq))["id"] for name, hq in TEAMS]
    ids = {}
    for name, age, team in HEROES:
        hero = await make_hero(name, age=age, team_id=None if team is None else teams[team])
        ids[name] = hero["id"]
    return ids


async def names(client: httpx.AsyncClient, path: str, params: Any) -> list[str]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return [item["name"] for item in items]


async def test_heroes_listing_filters_and_sorts(
    client: httpx.AsyncClient, seeded: dict[str, int]
) -> None:
    # The tutorial's contract is unchanged: every hero in id order, offset and limit.
    assert await names(client, "/heroes/", {}) == [hero[0] for hero in HEROES]
    assert await names(client, "/heroes/", {"offset": 1, "limit": 2}) == [
        "Spider-Boy", "Rusty-Man",
    ]
    assert await names(client, "/heroes/", {"age__gte": 30, "sort": "-age,id"}) == [
        "Rusty-Man", "Tarantula", "Deadpond", "100% Hero", "DEADPOOL",
    ]
    assert await names(client, "/heroes/", [("age__in", 16), ("age__in", 48)]) == [
        "Spider-Boy", "Rusty-Man",
    ]
    assert await names(client, "/heroes/", {"age__isnull": "true"}) == ["under_score"]
    assert await names(client, "/heroes/", {"name__icontains": "dead"}) == [
        "Deadpond", "DEADPOOL",
    ]
    assert await names(client, "/heroes/", {"name__icontains": "%"}) == ["100% Hero"]
    assert await names(client, "/heroes/", {"name__istartswith": "_"}) == []
    assert await names(client, "/heroes/", {"team__name": "Preventers", "limit": 2}) == [
        "Deadpond", "Tarantula",
    ]
    assert await names(client, "/heroes/", {"team__name__icontains": "%_c"}) == ["under_score"]
    assert await names(client, "/heroes/", {"team__headquarters__icontains": "margaret's"}) == [
        "Spider-Boy", "Rusty-Man",
    ]
    assert await names(client, "/heroes/", {"age": 30, "sort": "-id"}) == [
        "DEADPOOL", "100% Hero", "Deadpond",
    ]


async def test_teams_listing_filters_through_their_heroes(
    client: httpx.AsyncClient, seeded: dict[str, int]
) -> None:
    assert await names(client, "/teams/", {}) == [team[0] for team in TEAMS]
    assert await names(client, "/teams/", {"heroes__name__icontains": "dead"}) == ["Preventers"]
    assert await names(client, "/teams/", {"heroes__age__gt": 31, "sort": "-id"}) == [
        "Z-Force", "Preventers",
    ]
    assert await names(client, "/teams/", {"name__in": ["Z-Force", "50%_Club"]}) == [
        "Z-Force", "50%_Club",
    ]


async def test_pages_count_only_the_matching_heroes(
    client: httpx.AsyncClient, seeded: dict[str, int]
) -> None:
    response = await client.get(
        "/heroes/paginated", params={"team__name": "Preventers", "size": 2, "page": 2}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["pages"]) == (3, 2)
    assert [hero["name"] for hero in body["items"]] == ["DEADPOOL"]


async def test_cursor_pages_walk_the_filtered_order_and_refuse_other_filters(
    client: httpx.AsyncClient, seeded: dict[str, int]
) -> None:
    params = {"age__gte": 20, "sort": "-age,name", "limit": 2}
    walked: list[str] = []
    after: str | None = None
    cursors = []
    while True:
        response = await client.get(
            "/heroes/cursor", params={**params, **({"after": after} if after else {})}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        walked += [hero["name"] for hero in body["items"]]
        after = body["next_cursor"]
        if after is None:
            break
        cursors.append(after)
    assert walked[:2] == ["Rusty-Man", "Tarantula"]
    assert sorted(walked[2:]) == sorted(["Deadpond", "100% Hero", "DEADPOOL"])
    cursor = cursors[0]
    for other in (
        {"age__gte": 21, "sort": "-age,name"},
        {"age__gte": 20, "sort": "-age"},
        {"sort": "-age,name"},
        {"age__gte": 20, "sort": "-age,name", "team__name": "Z-Force"},
    ):
        response = await client.get("/heroes/cursor", params={**other, "after": cursor})
        assert response.status_code == 400, (other, response.text)
        assert response.json() == {"detail": "invalid cursor"}
    response = await client.get(
        "/heroes/cursor", params={"sort": "name", "order_by": "name"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "order_by"]
    # order_by keeps working as before.
    assert await names(client, "/heroes/cursor", {"order_by": "-age", "age__lt": 31}) == [
        "DEADPOOL", "100% Hero", "Deadpond", "Spider-Boy",
    ]


async def test_export_streams_only_the_matching_heroes(
    client: httpx.AsyncClient, seeded: dict[str, int]
) -> None:
    response = await client.get(
        "/heroes/export", params={"format": "csv", "team__name": "Z-Force", "sort": "-age"}
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["name"] for row in rows] == ["Rusty-Man", "Spider-Boy"]
    response = await client.get("/heroes/export", params={"age__isnull": "true"})
    *lines, last = [json.loads(line) for line in response.text.splitlines()]
    assert [line["name"] for line in lines] == ["under_score"]
    assert last == {"complete": True, "count": 1}


@pytest.mark.parametrize(
    ("path", "query", "parameter", "message"),
    [
        ("/heroes/", "agee=3", "agee", "unknown filter 'agee'"),
        ("/heroes/", "age__like=3", "age__like", "unknown operator 'like'"),
        ("/heroes/", "name__gt=a", "name__gt", "not allowed on name"),
        ("/heroes/", "age=thirty", "age", "valid integer"),
        ("/heroes/", "age__gt=99999999999", "age__gt", "less than or equal"),
        ("/heroes/", "age__isnull=maybe", "age__isnull", "boolean"),
        ("/heroes/", "sort=-secret_name", "sort", "unknown sort key '-secret_name'"),
        ("/heroes/", "team__nope=x", "team__nope", "unknown filter"),
        ("/heroes/", "power_level__gt=nan", "power_level__gt", "finite"),
        ("/heroes/", "name=a%00b", "name", "NUL"),
        ("/heroes/paginated", "age__in=1&age__in=x", "age__in", "valid integer"),
        ("/heroes/cursor", "secret_name__istartswith=a", "secret_name__istartswith", "not al"),
        ("/heroes/export", "format=csv&team=1", "team", "unknown filter 'team'"),
        ("/teams/", "heroes__power_level=1", "heroes__power_level", "unknown filter"),
        ("/teams/", "sort=age", "sort", "unknown sort key 'age'"),
    ],
)
async def test_bad_filter_parameters_are_422_naming_them(
    client: httpx.AsyncClient, path: str, query: str, parameter: str, message: str
) -> None:
    response = await client.get(f"{path}?{query}")
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(
        error["loc"][:2] == ["query", parameter] and message in error["msg"] for error in errors
    ), errors


async def test_an_in_list_longer_than_the_cap_is_a_422(client: httpx.AsyncClient) -> None:
    cap = HeroFilters.filters["age"].max_items
    ok = await client.get("/heroes/", params=[("age__in", n) for n in range(cap)])
    assert ok.status_code == 200, ok.text
    response = await client.get("/heroes/", params=[("age__in", n) for n in range(cap + 1)])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "age__in"]


def test_openapi_describes_each_filter_parameter(app: FastAPI) -> None:
    openapi = app.openapi()
    for path, filter_set, own in (
        ("/heroes/", HeroFilters, ["offset", "limit"]),
        ("/heroes/paginated", HeroFilters, ["page", "size"]),
        ("/heroes/cursor", HeroFilters, ["limit", "after", "order_by"]),
        ("/heroes/export", HeroFilters, ["format"]),
        ("/teams/", TeamFilters, ["offset", "limit"]),
    ):
        parameters = {p["name"]: p for p in openapi["paths"][path]["get"]["parameters"]}
        expected = [name for name, *_ in filter_set.parameters()]
        assert list(parameters) == [*own, *expected, "sort"]
        assert all(parameters[name]["description"] for name in [*expected, "sort"])
    heroes = {p["name"]: p for p in openapi["paths"]["/heroes/"]["get"]["parameters"]}
    assert heroes["age__gte"]["description"] == "Only rows whose `age` is at least this value."
    assert heroes["age__gte"]["schema"] == {
        "type": "integer", "maximum": 2147483647, "minimum": -2147483648,
    }
    assert heroes["age__in"]["schema"]["type"] == "array"
    assert heroes["age__in"]["schema"]["maxItems"] == 100
    assert heroes["age__isnull"]["schema"] == {"type": "boolean"}
    assert heroes["name__icontains"]["schema"]["type"] == "string"
    assert "name, age" in heroes["sort"]["description"]


# --- generated requests ---------------------------------------------------------------------

LISTINGS = {
    "/heroes/": HeroFilters,
    "/heroes/paginated": HeroFilters,
    "/heroes/cursor": HeroFilters,
    "/heroes/export": HeroFilters,
    "/teams/": TeamFilters,
}
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
VALUES = st.one_of(
    TEXT,
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["true", "false", "", "%", "_", "/", "\\", "-", "--id", "id,-name", "\x00"]),
)


def names_for(filter_set: Any) -> list[str]:
    return [name for name, *_ in filter_set.parameters()]


QUERIES = st.sampled_from(sorted(LISTINGS)).flatmap(
    lambda path: st.tuples(
        st.just(path),
        st.lists(
            st.tuples(
                st.one_of(
                    st.sampled_from([*names_for(LISTINGS[path]), "sort"]),
                    st.sampled_from(["age__like", "team__nope", "bogus", "limit", "after"]),
                    TEXT,
                ),
                VALUES,
            ),
            max_size=4,
        ),
    )
)
#: Generated requests per backend: bounded so the suite stays fast.
EXAMPLES = 120


def generated_queries() -> list[tuple[str, list[tuple[str, str]]]]:
    found: list[tuple[str, list[tuple[str, str]]]] = []

    @given(QUERIES)
    @settings(
        max_examples=EXAMPLES, database=None, deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def collect(query: tuple[str, list[tuple[str, str]]]) -> None:
        found.append(query)

    collect()
    return found


async def test_generated_filter_requests_never_get_a_5xx(
    client: httpx.AsyncClient, seeded: dict[str, int]
) -> None:
    failures = []
    statuses: set[int] = set()
    for path, params in generated_queries():
        response = await client.get(f"{path}?{urlencode(params)}")
        statuses.add(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{path}?{urlencode(params)} -> {response.status_code}")
    assert not failures, "\n".join(failures)
    assert {200, 422} <= statuses  # both valid and invalid requests were generated
