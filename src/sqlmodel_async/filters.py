"""Filters and sorting from requests: a declared, typed allow-list per model.

>>> class HeroFilters(FilterSet[Hero]):
...     name = Filter(ops=["eq", "icontains", "istartswith", "in"])
...     age = Filter(ops=["eq", "ne", "lt", "lte", "gt", "gte", "in", "isnull"])
...     team__name = Filter(ops=["eq", "icontains"])      # through the `team` relationship
...     sort = Sort(["name", "age", "id"])
>>> query = HeroFilters.parse({"age__gte": "30", "team__name": "Preventers", "sort": "-age"})
>>> await Repository(Hero, session).list(*query.where, order_by=query.order_by)

The query syntax: `field=value` for equality, `field__op=value` for the other operators
(`ne lt lte gt gte in not_in isnull icontains istartswith`), lists as repeated values
(`age__in=30&age__in=40`), `field__isnull=true|false`, related fields with `__`
(`team__name__icontains=prev`) and `sort=-age,name` (the primary key is appended as the
tie-breaker). Over HTTP, `HeroFilters.depends()` turns the declaration into FastAPI query
parameters (fastapi extra), each described in the OpenAPI document.

A `FilterQuery` holds plain SQLAlchemy WHERE clauses with bound parameters: it feeds every
read path (`list`, `count`, `first`, `paginate`, `paginate_cursor`, `stream`, the reader,
exports) and the set-based writes (`update_where`, `delete_where`) alike.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ._filter_compile import FieldPath, Plan, Term, ordering_of, plan_for, resolve
from .errors import InvalidFilterError as InvalidFilterError

ModelT = TypeVar("ModelT")

#: The operators a `Filter` may allow. `eq` is written `field=value` in a query.
Op = Literal[
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "isnull", "icontains", "istartswith"
]
OPS: tuple[Op, ...] = get_args(Op)
#: The most values an `in` / `not_in` list takes unless `Filter(max_items=)` says otherwise:
#: a longer list is refused (HTTP 422) rather than sent as a statement with that many
#: parameters.
MAX_IN_ITEMS = 100
#: The query parameter that carries the sort keys.
SORT_PARAMETER = "sort"


class Filter:
    """One filterable field of a `FilterSet`: the attribute name is the field's path
    (`age`, or `team__name` through a relationship), `ops` the operators allowed on it."""

    def __init__(
        self,
        ops: Sequence[Op] = ("eq",),
        *,
        max_items: int = MAX_IN_ITEMS,
        description: str | None = None,
    ) -> None:
        unknown = [op for op in ops if op not in OPS]
        if unknown or not ops:
            raise ValueError(f"unknown filter operator(s) {unknown!r}; known: {', '.join(OPS)}")
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        self.ops: tuple[Op, ...] = tuple(dict.fromkeys(ops))
        self.max_items = max_items
        self.description = description
        self.name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def parameter(self, op: Op) -> str:
        """The query parameter for `op` on this field: `name` for eq, else `name__op`."""
        return self.name if op == "eq" else f"{self.name}__{op}"


class Sort:
    """The sort keys a client may ask for (`sort=-age,name`; `-` is descending): columns
    of the model itself. `default` applies when the request names none (default: the
    primary key)."""

    def __init__(self, keys: Sequence[str], *, default: Sequence[str] = ()) -> None:
        if not keys:
            raise ValueError("Sort needs at least one key")
        self.keys: tuple[str, ...] = tuple(dict.fromkeys(keys))
        for key in default:
            if key.lstrip("-") not in self.keys:
                raise ValueError(f"default sort key {key!r} is not one of {self.keys}")
        self.default: tuple[str, ...] = tuple(default)


class FilterQuery(Generic[ModelT]):
    """A request's filters and order, checked against a `FilterSet`.

    `where`: the WHERE clauses (`Repository.list(*query.where, ...)`, or `*query`);
    `order_by`: the ORDER BY with the primary key as tie-breaker, or None when that is
    the primary key alone (the read paths' default order, so their fast paths apply).
    """

    __slots__ = ("model", "order_by", "sort", "values", "where")

    def __init__(
        self,
        model: type[ModelT],
        where: tuple[Any, ...],
        order_by: list[Any] | None,
        values: dict[str, Any],
        sort: tuple[str, ...],
    ) -> None:
        self.model = model
        self.where = where
        self.order_by = order_by
        #: The filter values by parameter name (`{"age__gte": 30}`), as validated.
        self.values = values
        #: The sort keys as asked (`("-age", "name")`); empty: the default order.
        self.sort = sort

    def __iter__(self) -> Iterator[Any]:
        return iter(self.where)

    def __repr__(self) -> str:
        return f"FilterQuery({self.model.__name__}, {self.values!r}, sort={self.sort!r})"


class FilterSet(Generic[ModelT]):
    """Declare a model's filterable fields (`Filter`) and sort keys (`Sort`) on a subclass:
    `class HeroFilters(FilterSet[Hero]): ...`. The declaration is checked against the
    model on first use (an unknown field or relationship is a TypeError then)."""

    model: ClassVar[type[Any]]
    filters: ClassVar[dict[str, Filter]]
    sorting: ClassVar[Sort | None]
    _resolved: ClassVar[_Resolved | None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is FilterSet:
                (cls.model,) = get_args(base)
        if not isinstance(getattr(cls, "model", None), type):
            raise TypeError(f"{cls.__name__}: subclass FilterSet[Model], naming the model")
        inherited = dict(getattr(cls, "filters", {}))
        sorting = getattr(cls, "sorting", None)
        for name, value in list(vars(cls).items()):
            if isinstance(value, Filter):
                inherited[name] = value
            elif isinstance(value, Sort):
                if name != SORT_PARAMETER:
                    raise TypeError(f"{cls.__name__}: declare the Sort as `sort = Sort(...)`")
                sorting = value
        cls.filters = inherited
        cls.sorting = sorting
        cls._resolved = None

    # --- declaration, resolved ----------------------------------------------------------

    @classmethod
    def _resolve(cls) -> _Resolved:
        if cls._resolved is None:
            cls._resolved = _Resolved(cls)
        return cls._resolved

    @classmethod
    def parameters(cls) -> list[tuple[str, Filter, Op, FieldPath]]:
        """Every query parameter the set accepts besides `sort`: (name, filter, op, path)."""
        return list(cls._resolve().parameters.values())

    # --- requests -------------------------------------------------------------------------

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> FilterQuery[ModelT]:
        """A `FilterQuery` from query parameters: `{"age__gte": "30", "sort": "-age"}`
        (strings or typed values; a list for `in`/`not_in`). Raises `InvalidFilterError`
        naming the first parameter at fault."""
        resolved = cls._resolve()
        values: dict[str, Any] = {}
        sort_value: Any = None
        for name, raw in params.items():
            if name == SORT_PARAMETER and cls.sorting is not None:
                sort_value = raw
                continue
            found = resolved.parameters.get(name)
            if found is None:
                raise InvalidFilterError(name, resolved.unknown(name))
            _, _, op, _ = found
            if op in ("in", "not_in") and isinstance(raw, str | bytes):
                raw = [raw]
            try:
                values[name] = resolved.adapters[name].validate_python(raw)
            except PydanticValidationError as error:
                first = error.errors(include_url=False)[0]
                raise InvalidFilterError(name, f"{name}: {first['msg']}") from None
        return cls.build(values, cls.sort_keys(sort_value))

    @classmethod
    def sort_keys(cls, value: str | Sequence[str] | None) -> tuple[str, ...]:
        """The sort keys in `value` (`"-age,name"`, or several such strings), checked
        against the allow-list; raises `InvalidFilterError`."""
        if value is None:
            return ()
        if cls.sorting is None:
            raise InvalidFilterError(SORT_PARAMETER, f"{cls.__name__} declares no sort keys")
        texts = [value] if isinstance(value, str) else list(value)
        keys: list[str] = []
        for text in texts:
            for part in str(text).split(","):
                key = part.strip()
                if not key:
                    continue
                if key.lstrip("-") not in cls.sorting.keys or key.startswith("--"):
                    allowed = ", ".join(cls.sorting.keys)
                    raise InvalidFilterError(
                        SORT_PARAMETER, f"unknown sort key {key!r}; allowed: {allowed}"
                    )
                keys.append(key)
        return tuple(keys)

    @classmethod
    def build(cls, values: Mapping[str, Any], sort: Sequence[str] = ()) -> FilterQuery[ModelT]:
        """A `FilterQuery` from values already validated (what `depends()` passes): the
        cached plan for this set of parameters binds them."""
        resolved = cls._resolve()
        present = {name: value for name, value in values.items() if value is not None}
        plan = resolved.plan(frozenset(present))
        keys = tuple(sort) or (cls.sorting.default if cls.sorting is not None else ())
        order_by = ordering_of(cls.model, _dedupe_sort(keys))
        return FilterQuery(cls.model, plan.bind(present), order_by, present, tuple(sort))

    # --- FastAPI --------------------------------------------------------------------------

    @classmethod
    def depends(cls, *, strict: bool = True) -> Any:
        """`Depends(...)` giving this set's `FilterQuery` for the request:
        `filters: Annotated[FilterQuery[Hero], HeroFilters.depends()]`. A wrong value, an
        unknown filter field or operator, or an unknown sort key is a 422 naming it.
        `strict=True` also refuses any query parameter the endpoint does not declare (a
        misspelt filter must not return every row). Describe the parameters in OpenAPI
        with the route's `openapi_extra=HeroFilters.openapi()`."""
        from ._filter_params import dependency  # FastAPI is an optional extra

        return dependency(cls, strict=strict)

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        """The filter and sort parameters for a route's `openapi_extra=`: each one's name,
        value schema (the field's type; a list for in/not_in, with its cap) and meaning."""
        from ._filter_params import openapi

        return openapi(cls)


def _dedupe_sort(keys: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for key in keys:
        seen.setdefault(key.lstrip("-"), key)
    return tuple(seen.values())


class _Resolved:
    """A FilterSet checked against its model: every parameter's path, value adapter and
    the compiled plans, per set of parameters used."""

    def __init__(self, filter_set: type[FilterSet[Any]]) -> None:
        self.filter_set = filter_set
        model = filter_set.model
        self.parameters: dict[str, tuple[str, Filter, Op, FieldPath]] = {}
        self.adapters: dict[str, TypeAdapter[Any]] = {}
        for name, declared in filter_set.filters.items():
            path = resolve(model, name)
            for op in declared.ops:
                parameter = declared.parameter(op)
                self.parameters[parameter] = (parameter, declared, op, path)
                self.adapters[parameter] = TypeAdapter(path.value_type(op, declared.max_items))
        if filter_set.sorting is not None:
            for key in filter_set.sorting.keys:
                resolve(model, key, sortable=True)
        self._terms = {
            parameter: Term(parameter, op, path)
            for parameter, (_, _, op, path) in self.parameters.items()
        }
        self._plans: dict[frozenset[str], Plan] = {}

    def plan(self, used: frozenset[str]) -> Plan:
        plan = self._plans.get(used)
        if plan is None:
            plan = plan_for([self._terms[name] for name in sorted(used)])
            if len(self._plans) < 4096:  # bounded: the sets of parameters a client can send
                self._plans[used] = plan
        return plan

    def unknown(self, name: str) -> str:
        """Why `name` is not a parameter of this set, for the 422."""
        fields = self.filter_set.filters
        for field_name, declared in fields.items():
            prefix = f"{field_name}__"
            if name.startswith(prefix):
                op = name[len(prefix) :]
                if op == "eq":
                    return f"{name}: write equality as {field_name}=value"
                allowed = ", ".join(declared.ops)
                if op in OPS:
                    return f"{name}: operator {op!r} is not allowed on {field_name} ({allowed})"
        known = ", ".join(fields) or "none"
        head, _, op = name.rpartition("__")
        if head in fields:
            return f"{name}: unknown operator {op!r}; known: {', '.join(OPS)}"
        return f"unknown filter {name!r}; filterable fields: {known}"
