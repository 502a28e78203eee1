"""The instances `create_many(returning=True)` hands back, built from checked values as
the ORM builds an object for a row it loads: no `__init__` and no validation again, the
values go straight into `__dict__`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any

from sqlmodel import SQLModel

from ._bulk_table import TableShape

_STATE = "_sa_instance_state"  # where SQLAlchemy keeps an instance's InstanceState
_object_new = object.__new__
_object_setattr = object.__setattr__


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a chunk's instances are built: they all stay
    alive (nothing for it to find), yet the objects each row tracks set off full
    collections that walk the whole heap, again and again as it grows. Only around code
    with no await, so no other task runs meanwhile."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class InstanceBuilder(TableShape):
    """New model instances from checked column values (part of TablePlan)."""

    def instances(self, names: tuple[str, ...], columns: Sequence[Sequence[Any]]) -> list[Any]:
        """New instances holding the values of `columns` (one per name in `names`, each
        row's value at the same position), as `instances_from` builds them."""
        if not columns or not columns[0]:
            return []
        fields = frozenset(names)
        with _collector_paused():
            made, states = self._blank(len(columns[0]))
            with_state = (_STATE, *names)
            values = [dict(zip(with_state, row, strict=True))
                      for row in zip(states, *columns, strict=True)]
            self._fill(made, values, [fields] * len(made))
        return made

    def instances_from(self, rows: list[dict[str, Any]]) -> list[Any]:
        """New instances holding `rows` (checked values, every column). Transient (in no
        session, no identity key); every field given counts as set
        (`model_dump(exclude_unset=True)`)."""
        with _collector_paused():
            made, states = self._blank(len(rows))
            values = [{_STATE: state, **row} for state, row in zip(states, rows, strict=True)]
            self._fill(made, values, rows)
        return made

    def _blank(self, n: int) -> tuple[list[Any], list[Any]]:
        """`n` instances with their InstanceState (what `ClassManager.new_instance` does,
        in two C-driven loops)."""
        model = self.model
        if model.__new__ is SQLModel.__new__:
            # Its pydantic slots are set by _fill: SQLModel.__new__ would be wasted work.
            made = [_object_new(model) for _ in range(n)]
        else:
            made = [model.__new__(model) for _ in range(n)]
        manager = self.manager
        return made, list(map(manager._state_constructor, made, repeat(manager, n)))

    def _fill(
        self, made: list[Any], values: list[dict[str, Any]], fields: Sequence[Iterable[str]]
    ) -> None:
        bypassed = self.model.__new__ is SQLModel.__new__
        for instance, data, given in zip(made, values, fields, strict=True):
            _object_setattr(instance, "__dict__", data)
            _object_setattr(instance, "__pydantic_fields_set__", set(given))
            if bypassed:  # what SQLModel.__new__ sets
                _object_setattr(instance, "__pydantic_extra__", None)
                _object_setattr(instance, "__pydantic_private__", None)
