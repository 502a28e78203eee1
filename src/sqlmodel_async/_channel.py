"""Sending the statements by key (_write_statements.py) on the session's own connection.

The statement goes to the driver itself (`Backend.driver_calls`) when nothing listens
to the engine's cursor executes (echo, a query counter, tracing): SQLAlchemy's execution
context, cache-key and result objects are most of what a one-row write costs in Python
(as in reader.py). The values go through SQLAlchemy's bind and result conversions
(_driver_sql.py); statements whose values SQLAlchemy computes per call (a Python-side
column default) or whose conversions cannot be known ahead keep SQLAlchemy's path.

The transaction begins as SQLAlchemy's adapter would begin it (each backend's
`driver_calls.begin`), and a driver error is mapped onto the DB-API error the adapter
would raise (_compat.py), so callers see the same errors on both paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapper, Session
from sqlmodel.ext.asyncio.session import AsyncSession

from ._compat import adapted_error
from ._driver_sql import DriverCalls, DriverStatement, driver_statement, nothing_listens
from ._write_statements import WriteStatement
from .dialects import Backend

#: `session.info` key: (the session's innermost transaction, its AsyncConnection, the
#: pooled connection or None) while that transaction lasts.
_HELD = "sqlmodel_async.write_channel"


def routed(session: AsyncSession) -> bool:
    """Whether the session picks a connection per mapper or statement (binds per model,
    or a `get_bind` of its own such as replica routing)."""
    sync_session = session.sync_session
    return bool(sync_session.binds) or type(sync_session).get_bind is not Session.get_bind


async def _pooled(connection: AsyncConnection, backend: Backend) -> Any | None:
    """The pooled connection, where statements may go to the driver itself."""
    if backend.driver_calls is None or not backend.drives(connection.dialect):
        return None
    try:  # no I/O while the connection is valid
        return connection.sync_connection.connection  # type: ignore[union-attr]
    except sa_exc.MissingGreenlet:
        return await connection.get_raw_connection()


class Channel:
    """The session's connection, for the statements of one write."""

    def __init__(
        self, connection: AsyncConnection, raw: Any | None, backend: Backend
    ) -> None:
        self.connection = connection
        self.backend = backend
        #: The pooled connection when statements go to the driver itself, else None.
        self._raw = raw
        #: How they go there (`Backend.driver_calls`).
        self._calls: DriverCalls = backend.driver_calls

    @classmethod
    async def open(cls, session: AsyncSession, backend: Backend, mapper: Mapper[Any]) -> Channel:
        """The session's connection for `mapper`'s table (beginning its transaction if
        needed). Kept in the session's info for the rest of its transaction where the
        session has one bind: asking the session again costs a greenlet switch per write."""
        sync_session = session.sync_session
        if routed(session):
            connection = await session.connection(bind_arguments={"mapper": mapper})
            raw = await _pooled(connection, backend)
        else:
            # Held per innermost transaction: a savepoint (begin_nested) is only set when
            # its transaction first asks for the connection.
            current = sync_session.get_nested_transaction() or sync_session.get_transaction()
            held = session.info.get(_HELD)
            if (
                held is not None
                and current is not None
                and held[0] is current
                and current.is_active
                and not held[1].invalidated
            ):
                connection, raw = held[1], held[2]
            else:
                connection = await session.connection()
                raw = await _pooled(connection, backend)
                current = sync_session.get_nested_transaction() or sync_session.get_transaction()
                session.info[_HELD] = (current, connection, raw)
        direct = raw is not None and nothing_listens(connection.sync_engine)
        return cls(connection, raw if direct else None, backend)

    @property
    def dialect(self) -> Dialect:
        return self.connection.dialect

    async def read(
        self, written: WriteStatement, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]] | None:
        """The rows of a plain SELECT (no lock) on the driver's own path; None, with
        nothing sent, where the statement cannot take that path.

        Sent before BEGIN when it is the first statement of a transaction at READ
        COMMITTED (`driver_calls.reads_before_begin`): every statement there takes its own
        snapshot, so the read sees what it would have seen inside, and a transaction that
        only reads then costs one round trip instead of three (BEGIN, SELECT, ROLLBACK).
        The transaction begins with the next statement, as it would have."""
        prepared = self._prepared(written)
        if prepared is None:
            return None
        arguments = prepared.arguments(parameters)
        if not self._calls.reads_before_begin(self._raw, self.dialect):
            await self._begin()
        return await self._fetch(prepared, arguments)

    async def rows(
        self, written: WriteStatement, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The rows the statement returns (RETURNING, or a SELECT)."""
        prepared = self._prepared(written)
        if prepared is None:
            result = await self.connection.execute(written.statement, dict(parameters))
            return result.all()
        arguments = prepared.arguments(parameters)
        await self._begin()
        return await self._fetch(prepared, arguments)

    async def _fetch(
        self, prepared: DriverStatement, arguments: list[Any]
    ) -> Sequence[Sequence[Any]]:
        try:
            rows = await self._calls.fetch(self._raw, prepared.sql, arguments)
        except Exception as error:
            raise await self._driver_error(error, prepared.sql, arguments) from error
        return prepared.rows(rows)

    async def driver_sql(self, sql: str, parameters: Any) -> Any:
        """SQL compiled for the driver, run once with `parameters` (a tuple): its rows on
        the driver's own path, else SQLAlchemy's result (several parameter sets too)."""
        if self._raw is None or not self._calls.bulk_rows or not isinstance(parameters, tuple):
            return await self.connection.exec_driver_sql(sql, parameters)
        await self._begin()
        try:
            return await self._calls.fetch(self._raw, sql, parameters)
        except Exception as error:
            raise await self._driver_error(error, sql, list(parameters)) from error

    async def begin(self) -> None:
        """Make sure the transaction has begun on the database (before sending something
        around SQLAlchemy, such as a COPY)."""
        if self._raw is None:
            await self.connection.exec_driver_sql("SELECT 1")
        else:
            await self._begin()

    async def count(self, written: WriteStatement, parameters: Mapping[str, Any]) -> int:
        """The number of rows the statement wrote (or matched)."""
        prepared = self._prepared(written)
        if prepared is None:
            result: Any = await self.connection.execute(written.statement, dict(parameters))
            return int(result.rowcount)
        arguments = prepared.arguments(parameters)
        await self._begin()
        try:
            return int(await self._calls.execute(self._raw, prepared.sql, arguments))
        except Exception as error:
            raise await self._driver_error(error, prepared.sql, arguments) from error

    async def inserted_key(
        self, written: WriteStatement, parameters: Mapping[str, Any]
    ) -> tuple[Any, ...]:
        """Insert without RETURNING; the new row's primary key (lastrowid where the
        database made it)."""
        result = await self.connection.execute(written.statement, dict(parameters))
        return tuple(result.inserted_primary_key or ())

    async def execute(self, statement: Any) -> Any:
        """A statement built per call (set-based writes): SQLAlchemy's path."""
        return await self.connection.execute(statement)

    async def control(self, *statements: str) -> None:
        """Transaction-control statements (SAVEPOINT ...), in one message where the
        driver takes several (asyncpg's simple protocol)."""
        if self._raw is None:
            for sql in statements:
                await self.connection.exec_driver_sql(sql)
            return
        await self._begin()
        try:
            await self._calls.control(self._raw, statements)
        except Exception as error:
            raise await self._driver_error(error, "; ".join(statements), []) from error

    def _prepared(self, written: WriteStatement) -> DriverStatement | None:
        if self._raw is None:
            return None
        return driver_statement(
            written.statement, self.dialect, columns=written.columns,
            type_codes=self.backend.result_type_codes,
        )

    async def _begin(self) -> None:
        try:
            await self._calls.begin(self._raw)
        except Exception as error:
            # As for any statement: a connection left unusable is invalidated, and the
            # caller sees a lost connection (transient), not an internal error.
            raise await self._driver_error(error, "BEGIN", []) from error

    async def _driver_error(
        self, error: Exception, sql: str, arguments: list[Any]
    ) -> BaseException:
        """`error` from the driver as SQLAlchemy's path would raise it (a DBAPIError); a
        lost connection is invalidated."""
        dialect = self.dialect
        dbapi = dialect.loaded_dbapi
        raw: Any = self._raw
        adapted = adapted_error(raw.dbapi_connection, error)
        if not isinstance(adapted, dbapi.Error):  # not a DB-API error: report it as it is
            return adapted
        disconnect = dialect.is_disconnect(
            adapted, raw.dbapi_connection, None
        ) or self.backend.is_disconnect(adapted)
        wrapped = sa_exc.DBAPIError.instance(
            sql, arguments, adapted, dbapi.Error,
            connection_invalidated=disconnect, dialect=dialect,
        )
        if disconnect:
            await self.connection.invalidate(wrapped)
        return wrapped
