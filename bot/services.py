"""The services handlers reach through a typed bot_data, and the handler context type."""

import time
from dataclasses import dataclass
from typing import Any, TypeAlias

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.delivery.worker import DeliveryWorker
from bot.feeds import FeedParserPool, Fetcher
from bot.matcher import SubscriptionIndex
from bot.storage import Storage


@dataclass
class Services:
    """Long-lived objects built once at start and shared by every handler and job."""

    settings: Settings
    storage: Storage
    index: SubscriptionIndex
    fetcher: Fetcher
    parsers: FeedParserPool
    started_at: float
    delivery: DeliveryWorker | None = None

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Follow a group that became a supergroup: its subscriptions move to the new id."""
        moved = await self.storage.migrate_chat(old_chat_id, new_chat_id, time.time())
        for subscription in moved:
            self.index.remove(old_chat_id, subscription.query)
            self.index.add(new_chat_id, subscription.query, subscription.display)


class BotData:
    """Application.bot_data: holds the services once the bot has started."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def attach(self, services: Services) -> None:
        """Make the services available to handlers."""
        self._services = services

    @property
    def services(self) -> Services:
        """Return the services; only handlers running after start may ask."""
        if self._services is None:
            raise RuntimeError("services are attached before polling starts")
        return self._services


Context: TypeAlias = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
# The bot and job-queue type parameters are left open: PTB's builder infers them loosely.
BotApplication: TypeAlias = Application[Any, Context, dict[Any, Any], dict[Any, Any], BotData, Any]
