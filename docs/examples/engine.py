"""The engine, the session factory, create_db_and_tables and the pool configuration:
one `Database`, whose options are checked against the backend."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from sqlmodel_async import ConfigurationError, Database


async def main(db: Database) -> None:
    # Your URL (from DATABASE_URL in an app: Database.from_env(pool_size=5, ...)).
    url = db.engine.url
    pooled = Database(
        url,
        pool_size=5,          # connections kept open
        max_overflow=10,      # extra connections under load
        pool_timeout=30,      # seconds to wait for one before giving up
        pool_recycle=1800,    # replace connections older than this
        pool_pre_ping=True,   # check a connection before handing it out
    )
    async with pooled:  # disposes the pool at the end (graceful shutdown)
        await pooled.create_all()  # create_db_and_tables
        async with pooled.session() as session:
            assert isinstance(session, AsyncSession)  # sqlmodel's: it has .exec()
            await pooled.ping()

    # Plain URLs get the async driver; options a backend cannot honour are refused up front.
    assert Database("postgresql://app@localhost/app").engine.dialect.driver == "asyncpg"
    with pytest.raises(ConfigurationError, match="pool_size"):
        Database("sqlite+aiosqlite:///:memory:", pool_size=5)  # one shared connection
    with pytest.raises(ConfigurationError):
        Database("postgresql://app@localhost/app", pool_timeout=-1)
