"""A user's filter sets on the public API: declarations, parsed values and their use on
the read paths have the types a reader expects. Checked by `mypy --strict`, never run."""

from typing import Annotated, Any, assert_type

from fastapi import FastAPI
from heroes.models import Hero, HeroPublic
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import (
    CursorPage,
    Filter,
    FilterQuery,
    FilterSet,
    Page,
    Reader,
    Repository,
    Sort,
)


class HeroFilters(FilterSet[Hero]):
    name = Filter(ops=["eq", "icontains", "istartswith", "in"])
    age = Filter(ops=["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "isnull"])
    team__name = Filter(ops=["eq", "icontains"], max_items=10)
    sort = Sort(["name", "age", "id"], default=["id"])


async def reads(session: AsyncSession, reader: Reader) -> None:
    query = HeroFilters.parse({"age__gte": "30", "sort": "-age"})
    assert_type(query, FilterQuery[Hero])
    assert_type(query.where, tuple[Any, ...])
    assert_type(query.order_by, list[Any] | None)
    heroes = Repository(Hero, session)
    assert_type(await heroes.list(*query.where, order_by=query.order_by), list[Hero])
    assert_type(await heroes.list(*query, order_by=query.order_by), list[Hero])
    assert_type(await heroes.count(*query), int)
    assert_type(await heroes.first(*query, order_by=query.order_by), Hero | None)
    assert_type(await heroes.paginate(*query, page=1, size=10, order_by=query.order_by), Page[Hero])
    assert_type(
        await heroes.paginate_cursor(*query, limit=10, order_by=query.order_by), CursorPage[Hero]
    )
    assert_type(
        await reader.project(Hero, HeroPublic).list(*query, order_by=query.order_by),
        list[HeroPublic],
    )


def endpoint(app: FastAPI) -> None:
    @app.get("/heroes/", openapi_extra=HeroFilters.openapi())
    async def read_heroes(
        filters: Annotated[FilterQuery[Hero], HeroFilters.depends()],
    ) -> list[str]:
        assert_type(filters.values, dict[str, Any])
        return [str(clause) for clause in filters]

