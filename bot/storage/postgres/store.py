"""PostgresStorage: the PostgreSQL backend, one class composed of the per-entity modules."""

from typing import Self

from bot.storage.postgres.broadcasts import BroadcastsMixin
from bot.storage.postgres.changes import ChangesMixin
from bot.storage.postgres.channels import ChannelsMixin
from bot.storage.postgres.chats import ChatsMixin
from bot.storage.postgres.claims import ClaimsMixin
from bot.storage.postgres.connection import open_pool
from bot.storage.postgres.feeds import FeedsMixin
from bot.storage.postgres.health import HealthMixin
from bot.storage.postgres.instances import InstancesMixin
from bot.storage.postgres.leases import LeasesMixin
from bot.storage.postgres.migrations import MigrationsMixin
from bot.storage.postgres.outbox import OutboxMixin
from bot.storage.postgres.retention import RetentionMixin
from bot.storage.postgres.stats import StatsMixin
from bot.storage.postgres.stories import StoriesMixin
from bot.storage.postgres.subscriptions import SubscriptionsMixin
from bot.storage.postgres.tuning import TuningMixin
from bot.storage.protocols import Storage


class PostgresStorage(
    ChatsMixin,
    ChannelsMixin,
    SubscriptionsMixin,
    TuningMixin,
    FeedsMixin,
    StoriesMixin,
    OutboxMixin,
    LeasesMixin,
    ClaimsMixin,
    BroadcastsMixin,
    StatsMixin,
    RetentionMixin,
    HealthMixin,
    InstancesMixin,
    MigrationsMixin,
    ChangesMixin,
    Storage,
):
    """The bot's Storage on a PostgreSQL database (naming the protocol makes mypy check it)."""

    @classmethod
    async def open(cls, url: str) -> Self:
        """Connect to the database at url (a postgresql:// URL) and migrate it."""
        storage = cls(await open_pool(url))
        try:
            await storage._migrate()
        except BaseException:
            await storage.close()
            raise
        return storage
