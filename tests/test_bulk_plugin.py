"""Under the pytest plugin (the `session` and `client` fixtures run each test inside an outer
transaction, with savepoints), a refused bulk call leaves the test's session usable, as a
refused flush does: a user's project, run by pytester on every backend."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_test_loop_scope = session
"""

USER_TESTS = '''
import pytest
from fastapi import FastAPI
from sqlmodel import Field, SQLModel, select

from sqlmodel_async import DuplicateKeyError, Repository
from sqlmodel_async.fastapi import SessionDep, add_exception_handlers


class Crate(SQLModel, table=True):
    __tablename__ = "plugin_crate"
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(unique=True)


async def labels(session):
    return list((await session.exec(select(Crate.label).order_by(Crate.label))).all())


def rows(*names):
    return [{"label": name} for name in names]


@pytest.mark.parametrize("returning", [True, False])
async def test_refused_bulk_call_after_work_in_the_test(session, returning):
    crates = Repository(Crate, session)
    await crates.create({"label": "before"})
    with pytest.raises(DuplicateKeyError):
        await crates.create_many(rows("a", "before", "b"), returning=returning)
    await crates.create({"label": "after"})
    await session.commit()
    assert await labels(session) == ["after", "before"]


async def test_refused_bulk_call_first_thing_in_the_test(session):
    crates = Repository(Crate, session)
    with pytest.raises(DuplicateKeyError):
        await crates.create_many(rows("a", "b", "a"))
    await crates.create({"label": "after"})
    await session.commit()
    assert await labels(session) == ["after"]


async def test_refused_bulk_call_after_a_commit(session):
    crates = Repository(Crate, session)
    await crates.create_many(rows("x"))
    await session.commit()
    with pytest.raises(DuplicateKeyError):
        await crates.create_many(rows("y", "x"), returning=False)
    await crates.update_many([{"id": (await crates.first(label="x")).id, "label": "z"}])
    await session.commit()
    assert await labels(session) == ["z"]


api = FastAPI()
add_exception_handlers(api)


@api.post("/crates")
async def create_crates(names: list[str], session: SessionDep) -> int:
    count = await Repository(Crate, session).create_many(rows(*names), returning=False)
    await session.commit()
    return count


@pytest.fixture
def app():
    return api


async def test_a_refused_bulk_request_leaves_the_session_usable(client, session):
    assert (await client.post("/crates", json=["x"])).status_code == 200
    assert (await client.post("/crates", json=["y", "x", "z"])).status_code == 409
    assert (await client.post("/crates", json=["w"])).status_code == 200
    assert await labels(session) == ["w", "x"]


async def test_and_the_next_test_sees_none_of_it(session):
    assert await labels(session) == []
'''


def test_refused_bulk_calls_under_the_plugin(
    pytester: pytest.Pytester, backend_url: str
) -> None:
    # backend_url skips an unreachable server locally and fails in CI.
    pytester.makeini(INI)
    pytester.makepyfile(test_user_bulk=USER_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--db-url", backend_url
    )
    result.assert_outcomes(passed=6)
