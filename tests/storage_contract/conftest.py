"""The backend under test: SQLite on a fresh file. Replace `storage` and `peek` to run another."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Storage
from bot.storage.sqlite import SqliteStorage
from tests.storage_contract.helpers import ANN, BOB, CAROL, T0, Db, Peek, private
from tests.storage_contract.sqlite_peek import SqlitePeek

DATABASE = "contract.sqlite3"


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """A new, empty database, closed after the test."""
    opened = await SqliteStorage.open(tmp_path / DATABASE)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def peek(tmp_path: Path) -> Peek:
    """What the `storage` backend holds, for assertions no protocol method can read."""
    return SqlitePeek(tmp_path / DATABASE)


@pytest.fixture
async def db(storage: Storage, peek: Peek) -> Db:
    """The storage with three active users registered."""
    for user_id in (ANN, BOB, CAROL):
        await storage.register_chat(private(user_id), now=T0)
    return Db(storage, peek)
