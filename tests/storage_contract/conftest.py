"""The backends under test: every contract test runs on SQLite (a fresh file) and on
PostgreSQL (a fresh schema, dropped after; skipped without TEST_DATABASE_URL)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage import Storage
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema
from tests.storage_contract.helpers import ANN, BOB, CAROL, T0, Db, Peek, private
from tests.storage_contract.postgres_peek import PostgresPeek
from tests.storage_contract.sqlite_peek import SqlitePeek

DATABASE = "contract.sqlite3"


@dataclass(frozen=True)
class Backend:
    """How to open the database under test, and how to read its committed rows."""

    open: Callable[[], Awaitable[Storage]]
    peek: Peek
    # PostgreSQL's URL (None on SQLite): tests that open a session of their own beside it.
    url: str | None = None


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A new, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / DATABASE
        yield Backend(lambda: SqliteStorage.open(path), SqlitePeek(path))
        return
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as conninfo:
        yield Backend(lambda: PostgresStorage.open(conninfo), PostgresPeek(conninfo), conninfo)


@pytest.fixture
async def storage(backend: Backend) -> AsyncIterator[Storage]:
    """The backend's database, opened (and migrated), closed after the test."""
    opened = await backend.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def peek(backend: Backend) -> Peek:
    """What the `storage` backend holds, for assertions no protocol method can read."""
    return backend.peek


@pytest.fixture
async def db(storage: Storage, peek: Peek) -> Db:
    """The storage with three active users registered."""
    for user_id in (ANN, BOB, CAROL):
        await storage.register_chat(private(user_id), now=T0)
    return Db(storage, peek)
