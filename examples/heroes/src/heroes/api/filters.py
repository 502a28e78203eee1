"""What clients may filter and sort the hero and team listings by.

`GET /heroes/?age__gte=30&team__name=Preventers&sort=-age,name`: each filter set becomes the
listing's query parameters (`HeroFilters.depends()`), described in the OpenAPI document,
and a `FilterQuery` that every read path takes (the reader's JSON listing, pages, cursor
pages, the export). Anything else in the query string is a 422 naming it.

Indexes (models.py) behind the operators: `name` (unique), `age`, `team_id` and `team.name`
serve eq, in and the range operators, and the related filters' subqueries
(`team_id IN (SELECT id FROM team WHERE name = ...)` uses both `team.name` and `hero.team_id`).
icontains reads every row; istartswith too (it compares lower(name): an expression index
would be needed). Sorting by an indexed column with `id` as tie-breaker is served by that
index on PostgreSQL and SQLite (InnoDB secondary indexes end with the primary key).
"""

from __future__ import annotations

from sqlmodel_async import Filter, FilterSet, Sort

from ..models import Hero, Team


class HeroFilters(FilterSet[Hero]):
    name = Filter(ops=["eq", "ne", "in", "not_in", "icontains", "istartswith"])
    secret_name = Filter(ops=["eq", "icontains"])
    age = Filter(ops=["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "isnull"])
    power_level = Filter(ops=["lt", "lte", "gt", "gte"])
    team_id = Filter(ops=["eq", "ne", "in", "not_in", "isnull"])
    team__name = Filter(ops=["eq", "in", "icontains", "istartswith"])
    team__headquarters = Filter(ops=["eq", "icontains"])
    sort = Sort(["id", "name", "age", "power_level", "team_id"], default=["id"])


class TeamFilters(FilterSet[Team]):
    name = Filter(ops=["eq", "in", "icontains", "istartswith"])
    headquarters = Filter(ops=["eq", "icontains"])
    heroes__name = Filter(ops=["eq", "in", "icontains"])
    heroes__age = Filter(ops=["lt", "lte", "gt", "gte"])
    sort = Sort(["id", "name", "headquarters"], default=["id"])
