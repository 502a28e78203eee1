"""Eager-load options from relationship attributes, and the lazy-load guard.

`load=[Hero.team, (Team.heroes, Hero.items)]` becomes the right loader options: a many-to-one
is joined into the same query, a collection (one-to-many, or many-to-many through its link
table) is loaded with one extra `SELECT ... IN` per level (a joined collection would multiply
rows). A tuple is a path, each step a relationship of the previous step's target:
`load=[Team.heroes, (Team.heroes, Hero.powers)]` loads the teams' heroes and their powers,
`(Category.children, Category.children)` two levels of a tree. A relationship that was not
loaded and is read outside `await` raises `LazyLoadError` naming it and the fix, instead of
SQLAlchemy's MissingGreenlet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import (
    ORMExecuteState,
    QueryableAttribute,
    RelationshipProperty,
    joinedload,
    selectinload,
)
from sqlalchemy.orm.strategy_options import _AbstractLoad
from sqlalchemy.util.concurrency import in_greenlet
from sqlmodel import Session

from .errors import LazyLoadError

#: What `load=` accepts: a relationship attribute (`Hero.team`), a path of them
#: (`(Team.heroes, Hero.items)`), or a ready loader option (`selectinload(...)`).
#: Typed as Any because SQLModel declares `Hero.team` as `Team | None` to type checkers.
Loadable = Any


def loader_options(load: Iterable[Loadable]) -> list[Any]:
    """Loader options for `load=`; raises TypeError naming anything that is not a relationship."""
    return [_option_for(item) for item in load]


def _option_for(item: Loadable) -> Any:
    if isinstance(item, _AbstractLoad):
        return item
    path: Sequence[Any] = item if isinstance(item, (tuple, list)) else (item,)
    if not path:
        raise TypeError("load= got an empty path")
    option: Any = None
    for attribute in path:
        prop = getattr(attribute, "property", None)
        if not isinstance(attribute, QueryableAttribute) or not isinstance(
            prop, RelationshipProperty
        ):
            raise TypeError(
                f"load= takes relationship attributes such as Hero.team, got {attribute!r}"
            )
        strategy = selectinload if prop.uselist else joinedload
        option = strategy(attribute) if option is None else getattr(option, strategy.__name__)(
            attribute
        )
    return option


class GuardedSession(Session):
    """The sync side of our AsyncSession: reports lazy loads outside `await` clearly."""


@event.listens_for(GuardedSession, "do_orm_execute")
def refuse_lazy_load_outside_await(state: ORMExecuteState) -> None:
    # A lazy load started by plain attribute access runs outside the greenlet that
    # AsyncSession's awaited calls run in; SQLAlchemy would fail later with MissingGreenlet.
    if not state.is_relationship_load or in_greenlet():
        return
    instance = state.lazy_loaded_from
    relationship = _relationship_name(state)
    owner = type(instance.obj()).__name__ if instance is not None else "the object"
    attribute = f"{owner}.{relationship}" if relationship else f"a relationship of {owner}"
    raise LazyLoadError(
        f"{attribute} was not loaded, and loading it now would need a query outside `await`. "
        f"Load it with the query: load=[{attribute}] (Repository), "
        f".options(selectinload({attribute})) (select), or "
        f"`await session.refresh(obj, [{relationship!r}])`."
    )


def _relationship_name(state: ORMExecuteState) -> str | None:
    path = state.loader_strategy_path
    if path is None:
        return None
    for element in reversed(path.path):
        if isinstance(element, RelationshipProperty):
            return element.key
    return None
