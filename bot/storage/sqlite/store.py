"""SqliteStorage: the SQLite backend, one class composed of the per-entity modules."""

import sqlite3
from pathlib import Path
from typing import Self

import aiosqlite

from bot.storage.changes import ChangeStream, NoChanges
from bot.storage.errors import StorageError
from bot.storage.protocols import Storage
from bot.storage.sqlite.broadcasts import BroadcastsMixin
from bot.storage.sqlite.channels import ChannelsMixin
from bot.storage.sqlite.chats import ChatsMixin
from bot.storage.sqlite.claims import ClaimsMixin
from bot.storage.sqlite.feeds import FeedsMixin
from bot.storage.sqlite.files import prepare_database_file
from bot.storage.sqlite.health import HealthMixin
from bot.storage.sqlite.instances import InstancesMixin
from bot.storage.sqlite.leases import LeasesMixin
from bot.storage.sqlite.migrations import MigrationsMixin
from bot.storage.sqlite.outbox import OutboxMixin
from bot.storage.sqlite.retention import RetentionMixin
from bot.storage.sqlite.schedules import SchedulesMixin
from bot.storage.sqlite.search import SearchMixin
from bot.storage.sqlite.stats import StatsMixin
from bot.storage.sqlite.stories import StoriesMixin
from bot.storage.sqlite.subscriptions import SubscriptionsMixin
from bot.storage.sqlite.tuning import TuningMixin


class SqliteStorage(
    ChatsMixin,
    ChannelsMixin,
    SubscriptionsMixin,
    TuningMixin,
    FeedsMixin,
    StoriesMixin,
    ClaimsMixin,
    SchedulesMixin,
    OutboxMixin,
    LeasesMixin,
    BroadcastsMixin,
    StatsMixin,
    RetentionMixin,
    SearchMixin,
    HealthMixin,
    InstancesMixin,
    MigrationsMixin,
    Storage,
):
    """The bot's Storage on one SQLite file (naming the protocol makes mypy check it)."""

    @classmethod
    async def open(cls, path: Path) -> Self:
        """Open (creating if needed) and migrate the database at path."""
        prepare_database_file(path)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StorageError(f"DATABASE_PATH {path} cannot be opened: {error}") from None
        storage = cls(connection)
        try:
            await storage._configure()
            await storage._use_incremental_vacuum()
            await storage._migrate()
            await storage._open_reader(path)
        except BaseException:
            await storage.close()
            raise
        return storage

    async def listen_changes(self) -> ChangeStream:
        """One process uses the file: its changes reach its memory directly."""
        return NoChanges()
