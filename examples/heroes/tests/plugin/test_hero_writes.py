"""The hero writes of the API are one statement each: POST, PATCH and DELETE /heroes/ send
their INSERT, UPDATE or DELETE with no read of the hero first (the library's
`Repository.create/update/delete`), in one short transaction."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx

from sqlmodel_async import Database
from sqlmodel_async.testing import QueryLog

MaxQueries = Callable[[int], AbstractContextManager[QueryLog]]


def verbs(log: QueryLog) -> list[str]:
    return [statement.split(None, 1)[0].upper() for statement in log.statements]


async def test_create_update_delete_are_one_statement_each(
    client: httpx.AsyncClient, database: Database, assert_max_queries: MaxQueries
) -> None:
    body = {"name": "Deadpond", "secret_name": "Dive Wilson"}
    # The INSERT, then the notification's read after the response (a background task).
    with assert_max_queries(2) as log:
        created = await client.post("/heroes/", json=body)
    assert created.status_code == 200, created.text
    assert verbs(log) == ["INSERT", "SELECT"]
    hero_id = created.json()["id"]

    # MariaDB has no UPDATE ... RETURNING: the library reads the row back after it.
    reads_back = not database.backend.update_returning
    with assert_max_queries(2 if reads_back else 1) as log:
        updated = await client.patch(f"/heroes/{hero_id}", json={"age": 31})
    assert updated.status_code == 200 and updated.json()["age"] == 31
    assert verbs(log) == (["UPDATE", "SELECT"] if reads_back else ["UPDATE"])

    with assert_max_queries(1) as log:
        deleted = await client.delete(f"/heroes/{hero_id}")
    assert deleted.json() == {"ok": True}
    assert verbs(log) == ["DELETE"]
