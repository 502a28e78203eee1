"""A FilterSet over HTTP: `FilterSet.depends()` (the request's `FilterQuery`) and
`FilterSet.openapi()` (the parameters' OpenAPI description, for a route's `openapi_extra=`).

The dependency reads the query string itself instead of declaring one FastAPI parameter per
(field, operator): FastAPI resolves every declared parameter on every request, present or
not, and with the thirty-odd parameters of a filter set that was a quarter of a listing's
time. Here only the parameters a request sends are validated (each with the field's type,
through a TypeAdapter built once), and a query string without filters costs nothing. Errors
are FastAPI's usual 422 (`RequestValidationError`), naming the parameter: a wrong value, an
unknown filter field or operator, an unknown sort key, and, with `strict`, any query
parameter the endpoint does not declare (a misspelt filter must not return every row).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

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
    resolved = filter_set._resolve()
    empty = filter_set.build({}, ())

    async def filter_query(request: Request) -> Any:
        params = request.query_params
        if not params:
            return empty  # the common case: nothing to read, the same (immutable) value
        errors: list[dict[str, Any]] = []
        values: dict[str, Any] = {}
        declared = _route_parameters(request) if strict else None
        sort: Any = None
        for name in dict.fromkeys(params.keys()):
            if name == SORT_PARAMETER and filter_set.sorting is not None:
                sort = params.get(name)
                continue
            found = resolved.parameters.get(name)
            if found is None:
                if declared is not None and name not in declared:
                    errors.append(_error(name, resolved.unknown(name), params.get(name)))
                continue
            op = found[2]
            raw: Any = params.getlist(name) if op in ("in", "not_in") else params.get(name)
            try:
                values[name] = resolved.adapters[name].validate_python(raw)
            except PydanticValidationError as error:
                errors.extend(
                    {**item, "loc": ("query", name, *item["loc"])}
                    for item in error.errors(include_url=False, include_context=False)
                )
        keys: tuple[str, ...] = ()
        try:
            keys = filter_set.sort_keys(sort)
        except InvalidFilterError as error:
            errors.append(_error(SORT_PARAMETER, error.message, sort))
        if errors:
            raise RequestValidationError(errors)
        return filter_set.build(values, keys)

    filter_query.__name__ = f"{filter_set.__name__}_query"
    return Depends(filter_query)


def openapi(filter_set: type[FilterSet[Any]]) -> dict[str, Any]:
    """`{"parameters": [...]}`: every filter parameter and `sort`, described."""
    parameters = []
    for name, declared, op, path in filter_set.parameters():
        schema = _inline(TypeAdapter(path.value_type(op, declared.max_items)).json_schema())
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": describe(declared, op, name),
                "schema": schema,
            }
        )
    sorting = filter_set.sorting
    if sorting is not None:
        default = ",".join(sorting.default) or "the primary key"
        parameters.append(
            {
                "name": SORT_PARAMETER,
                "in": "query",
                "required": False,
                "description": (
                    "Sort keys, comma-separated; `-` before a key sorts descending "
                    f"(`-age,name`). Keys: {', '.join(sorting.keys)}. The primary key is "
                    f"appended as the tie-breaker. Default: {default}."
                ),
                "schema": {"type": "string"},
            }
        )
    return {"parameters": parameters}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema without `$defs` (an OpenAPI parameter cannot refer to them)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _route_parameters(request: Request) -> frozenset[str]:
    """The query parameters the request's endpoint (and its dependencies) declare."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return frozenset()
    known = _declared.get(id(route))
    if known is not None and known[0] is route:
        return known[1]
    declared = frozenset(_query_names(dependant))
    _declared[id(route)] = (route, declared)
    return declared


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
