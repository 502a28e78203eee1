"""`Repository.get(key)` in one statement on the driver's own path.

The ORM's `session.get()` compiles, caches and loads through SQLAlchemy's whole execution
and loading machinery; for a row by primary key with no options that is most of what the
read costs in Python. Here the SELECT is built once per model (_write_statements.py), sent
on the driver, and the instance made as the ORM makes one it loads, then put in the
identity map. Where anything could observe the difference, the ORM does the read instead:
an instance already in the session, pending changes (autoflush), ORM execute or load
events, a session that routes reads (replicas, binds per model), inheritance, or
attributes that are not plain columns.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy.orm import Mapper
from sqlmodel.ext.asyncio.session import AsyncSession

from . import _session_sync as session_sync
from ._channel import Channel, routed
from ._write_statements import key_parameters, model_columns, select_statement
from .dialects import Backend
from .loading import refuse_lazy_load_outside_await

#: What `get_by_key` returns when the ORM must do the read.
ORM = object()
#: ORM execute hooks of the library's own, which a read by key never triggers.
_OWN_HOOKS = frozenset({refuse_lazy_load_outside_await})


async def get_by_key(
    session: AsyncSession, backend: Backend, mapper: Mapper[Any], key: tuple[Any, ...]
) -> Any:
    """The session's instance of the row with primary key `key`, None if there is no such
    row, or `ORM` when `session.get()` must answer instead."""
    events = mapper.class_manager.dispatch
    if backend.driver_calls is None or not _plain(mapper) or events.load or events.refresh:
        return ORM
    sync_session = session.sync_session
    if (
        routed(session)
        or any(hook not in _OWN_HOOKS for hook in sync_session.dispatch.do_orm_execute)
        or session.new
        or session.deleted
        or session.identity_map.check_modified()
    ):
        return ORM
    meta = model_columns(mapper)
    if session_sync.in_session(session, meta, key) is not None:
        return ORM  # the identity map answers, as session.get() does
    channel = await Channel.open(session, backend, mapper)
    rows = await channel.read(select_statement(meta, False), key_parameters(meta, key))
    if rows is None:
        return ORM
    if not rows:
        return None
    instance = mapper.class_manager.new_instance()
    return session_sync.attach(session, meta, instance, rows[0], new=False)


@cache
def _plain(mapper: Mapper[Any]) -> bool:
    """A mapper whose loaded instance is exactly its table's columns."""
    return (
        mapper.inherits is None
        and not mapper.polymorphic_map
        and set(mapper.column_attrs.keys()) == set(model_columns(mapper).names)
    )
