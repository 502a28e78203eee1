"""A FilterSet as FastAPI query parameters (`FilterSet.depends()`).

One keyword parameter per (field, operator), aliased to its query name (`age__gte`) and
typed as the field, so FastAPI validates the values (a wrong type is its usual 422) and the
OpenAPI document describes each one. What FastAPI cannot see, this module checks: a query
parameter the endpoint does not declare (`agee=3`, `age__like=3`) and unknown sort keys,
each a 422 naming the parameter.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from .filters import SORT_PARAMETER, InvalidFilterError

if TYPE_CHECKING:
    from .filters import Filter, FilterSet, Op

_PHRASES = {
    "eq": "equals this value",
    "ne": "is not this value (rows without a value included)",
    "lt": "is less than this value",
    "lte": "is at most this value",
    "gt": "is greater than this value",
    "gte": "is at least this value",
    "in": "is one of these values (repeat the parameter: `{name}=a&{name}=b`; at most {cap})",
    "not_in": (
        "is none of these values (repeat the parameter; at most {cap}; rows without a "
        "value included)"
    ),
    "isnull": "is null (`true`) or has a value (`false`)",
    "icontains": "contains this text, ignoring case (`%` and `_` match themselves)",
    "istartswith": "starts with this text, ignoring case (`%` and `_` match themselves)",
}

#: The query parameters each route declares, by id of the route (which is kept with them:
#: routes live as long as their app, and FastAPI's are not hashable).
_declared: dict[int, tuple[Any, frozenset[str]]] = {}


def describe(declared: Filter, op: Op, name: str) -> str:
    if declared.description and op == "eq":
        return declared.description
    field = declared.name.replace("__", ".")
    text = f"Only rows whose `{field}` " + _PHRASES[op].format(name=name, cap=declared.max_items)
    if "__" in declared.name:
        text += " (a related row must match; conditions on the same relation apply to one row)"
    return text + "."


def dependency(filter_set: type[FilterSet[Any]], *, strict: bool) -> Any:
    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    ]
    names: dict[str, str] = {}
    for index, (name, declared, op, path) in enumerate(filter_set.parameters()):
        value_type = path.value_type(op, declared.max_items)
        query = Query(alias=name, description=describe(declared, op, name))
        keyword = f"p{index}"
        names[keyword] = name
        parameters.append(
            inspect.Parameter(
                keyword,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[value_type | None, query],
            )
        )
    sorting = filter_set.sorting
    if sorting is not None:
        default = ",".join(sorting.default) or "the primary key"
        description = (
            "Sort keys, comma-separated; `-` before a key sorts descending (`-age,name`). "
            f"Keys: {', '.join(sorting.keys)}. The primary key is appended as the "
            f"tie-breaker. Default: {default}."
        )
        parameters.append(
            inspect.Parameter(
                "sort",
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[
                    str | None,
                    Query(alias=SORT_PARAMETER, max_length=1024, description=description),
                ],
            )
        )

    async def filter_query(request: Request, **given: Any) -> Any:
        errors = _undeclared(request, filter_set) if strict else []
        sort = given.pop("sort", None)
        keys: tuple[str, ...] = ()
        try:
            keys = filter_set.sort_keys(sort)
        except InvalidFilterError as error:
            errors.append(_error(SORT_PARAMETER, error.message, sort))
        if errors:
            raise RequestValidationError(errors)
        values = {names[keyword]: value for keyword, value in given.items() if value is not None}
        return filter_set.build(values, keys)

    filter_query.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    filter_query.__name__ = f"{filter_set.__name__}_query"
    return Depends(filter_query)


def _undeclared(request: Request, filter_set: type[FilterSet[Any]]) -> list[dict[str, Any]]:
    """A 422 error for each query parameter the endpoint does not declare."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    known = _declared.get(id(route))
    if known is not None and known[0] is route:
        declared = known[1]
    else:
        declared = frozenset(_query_names(dependant))
        _declared[id(route)] = (route, declared)
    resolved = filter_set._resolve()
    return [
        _error(name, resolved.unknown(name), request.query_params.get(name))
        for name in dict.fromkeys(request.query_params.keys())
        if name not in declared
    ]


def _query_names(dependant: Any) -> list[str]:
    """The query parameters of an endpoint and of every dependency it has."""
    names = [field.alias for field in dependant.query_params]
    for field in dependant.query_params:
        # A pydantic model of query parameters (`Annotated[Params, Query()]`): its fields.
        fields = getattr(field.field_info.annotation, "model_fields", None) or {}
        names.extend(info.alias or key for key, info in fields.items())
    for sub in dependant.dependencies:
        names.extend(_query_names(sub))
    return names


def _error(name: str, message: str, value: Any) -> dict[str, Any]:
    return {"type": "value_error", "loc": ("query", name), "msg": message, "input": value}
