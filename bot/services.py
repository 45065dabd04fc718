"""The services handlers reach through a typed bot_data, and the handler context type."""

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.delivery.chat_schedules import ChatSchedules
from bot.delivery.worker import DeliveryWorker
from bot.i18n import SUPPORTED_LOCALES, locale_for
from bot.ingest.fetch import Fetcher
from bot.ingest.pool import FeedParserPool
from bot.matching.expand import shipped_aliases
from bot.matching.index import SubscriptionIndex
from bot.storage import AddedSubscriptions, Chat, Storage, StorageUnavailable, Subscription

log = logging.getLogger(__name__)

# Chats whose stored language is kept in memory, the most recently active ones: a miss costs
# one read of the chat's row, so this only has to cover the chats talking to the bot now.
LANGUAGE_CACHE_SIZE = 20_000
SUBSCRIPTION_PAGE_SIZE = 10_000
_UNKNOWN = object()


class Subscriptions:
    """The one place a chat's subscriptions change: storage first, then the in-memory index.

    The index is what the poller matches against, so a change stored but not indexed (or
    indexed but not stored) would alert a chat wrongly until the next restart. Storage goes
    first: if it fails, the index is left as it was.
    """

    def __init__(
        self,
        storage: Storage,
        index: SubscriptionIndex,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._index = index
        self._clock = clock

    async def add(
        self,
        chat_id: int,
        queries: Sequence[tuple[str, str]],
        limit: int,
        thread_id: int | None = None,
    ) -> AddedSubscriptions:
        """Store (normalised, display) queries up to the chat's limit and index those added;
        alerts for them go to the forum topic thread_id (None: the chat itself)."""
        result = await self._storage.add_subscriptions(
            chat_id, queries, limit, self._clock(), thread_id=thread_id
        )
        for subscription in result.added:
            self._index.add(chat_id, subscription.query, subscription.display)
        return result

    async def remove(self, chat_id: int, subscription_id: int) -> Subscription | None:
        """Remove one of the chat's subscriptions by id; another chat's id removes nothing."""
        deleted = await self._storage.remove_subscription_by_id(chat_id, subscription_id)
        if deleted is not None:
            # The same query in another forum topic of the chat still needs the index entry.
            remaining = await self._storage.list_subscriptions(chat_id)
            if all(subscription.query != deleted.query for subscription in remaining):
                self._index.remove(chat_id, deleted.query)
        return deleted

    async def move_to_topic(
        self, chat_id: int, subscription_ids: Sequence[int], thread_id: int | None
    ) -> list[Subscription]:
        """Send these subscriptions' alerts to forum topic thread_id (the index is per chat,
        so it stays as it is)."""
        return await self._storage.move_subscriptions(chat_id, subscription_ids, thread_id)

    async def remove_all(self, chat_id: int) -> list[Subscription]:
        """Remove every subscription of the chat; return what was removed."""
        deleted = await self._storage.remove_all_subscriptions(chat_id)
        self._index.remove_chat(chat_id, [subscription.query for subscription in deleted])
        return deleted

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Follow a group that became a supergroup: its subscriptions move to the new id."""
        moved = await self._storage.migrate_chat(old_chat_id, new_chat_id, self._clock())
        for subscription in moved:
            self._index.remove(old_chat_id, subscription.query)
            self._index.add(new_chat_id, subscription.query, subscription.display)


class ChatLanguages:
    """The language each update is handled in, and the one place a chat's language changes.

    A chat speaks its stored language (chats.language: the first contact's language_code,
    or what it chose with /language), else the language_code of whoever sent the update.
    Stored languages of recently active chats are cached, so an update costs no read; the
    cache is kept true by `seen` (after a chat is registered) and `change` (storage first).
    """

    def __init__(self, storage: Storage, capacity: int = LANGUAGE_CACHE_SIZE) -> None:
        self._storage = storage
        self._capacity = capacity
        # chat id -> stored language (None: the chat is unknown or never said).
        self._stored: OrderedDict[int, str | None] = OrderedDict()
        # Counts forget() calls: a read that one overtook is not cached (it may be older).
        self._forgotten = 0

    async def locale_of(self, chat_id: int | None, sender_language: str | None) -> str:
        """Return the supported locale to answer this chat in."""
        if chat_id is None:
            return locale_for(sender_language)
        stored = self._stored.get(chat_id, _UNKNOWN)
        if stored is _UNKNOWN:
            forgotten = self._forgotten
            try:
                chat = await self._storage.get_chat(chat_id)
            except StorageUnavailable as error:  # answer anyway; the sender's language will do
                log.warning("Cannot read chat %s's language: %s", chat_id, error)
                return locale_for(sender_language)
            stored = chat.language if chat is not None else None
            if forgotten == self._forgotten:
                self._remember(chat_id, stored)
        else:
            self._stored.move_to_end(chat_id)
        assert stored is None or isinstance(stored, str)
        return locale_for(stored or sender_language)

    def seen(self, chat: Chat) -> None:
        """Note the chat's stored language, as storage just returned it."""
        self._remember(chat.id, chat.language)

    async def change(self, chat_id: int, locale: str, now: float | None = None) -> bool:
        """Store the language the chat chose, then answer in it; False for an unknown chat."""
        if locale not in SUPPORTED_LOCALES:
            raise ValueError(f"unsupported locale {locale!r}")
        changed = await self._storage.set_chat_language(
            chat_id, locale, time.time() if now is None else now
        )
        if changed:
            self._remember(chat_id, locale)
        return changed

    def forget(self, chat_id: int | None = None) -> None:
        """Drop the chat's cached language (every chat's with None): another instance
        changed it, so the next update reads it again."""
        self._forgotten += 1
        if chat_id is None:
            self._stored.clear()
        else:
            self._stored.pop(chat_id, None)

    def _remember(self, chat_id: int, stored: str | None) -> None:
        self._stored[chat_id] = stored
        self._stored.move_to_end(chat_id)
        while len(self._stored) > self._capacity:
            self._stored.popitem(last=False)


class ChatAdminCheck(Protocol):
    """Whether a user administers a group or channel (handlers/admins.py's ChatAdmins)."""

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Return whether the user is the chat's creator or one of its administrators."""
        ...

    def forget(self, chat_id: int) -> None:
        """Drop what is known about the chat's admins."""
        ...


class _AdminsNotAttached:
    """Stands in until the application exists: asking before then is a wiring bug."""

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        raise RuntimeError("the admin check is attached when the application is built")

    def forget(self, chat_id: int) -> None:
        """Nothing is known yet."""


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
    # The time handlers decide by (a mute's end, what is muted now); tests inject theirs,
    # the same the delivery worker claims by.
    clock: Callable[[], float] = time.time
    # Who administers a group: getChatMember, cached briefly; app.py attaches ChatAdmins.
    admins: ChatAdminCheck = field(default_factory=_AdminsNotAttached)
    # Handlers change subscriptions only through this, never storage and index by hand.
    subscriptions: Subscriptions = field(init=False)
    # Each update's language, and /language's changes: through this, never storage by hand.
    languages: ChatLanguages = field(init=False)
    # Time zone, quiet hours, digests: through this, which re-times what they hold.
    schedules: ChatSchedules = field(init=False)

    def __post_init__(self) -> None:
        self.subscriptions = Subscriptions(self.storage, self.index)
        self.languages = ChatLanguages(self.storage)
        self.schedules = ChatSchedules(self.storage)


class BotData:
    """Application.bot_data: holds the services once the bot has started."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def attach(self, services: Services) -> None:
        """Make the services available to handlers."""
        self._services = services

    @property
    def attached(self) -> bool:
        """Whether the services are there yet."""
        return self._services is not None

    @property
    def services(self) -> Services:
        """Return the services; only handlers running after start may ask."""
        if self._services is None:
            raise RuntimeError("services are attached before polling starts")
        return self._services


Context: TypeAlias = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
# The bot and job-queue type parameters are left open: PTB's builder infers them loosely.
BotApplication: TypeAlias = Application[Any, Context, dict[Any, Any], dict[Any, Any], BotData, Any]


async def build_services(
    settings: Settings, storage: Storage, fetcher: Fetcher, parsers: FeedParserPool
) -> Services:
    """Load what the bot keeps in memory (the subscription index) from storage."""
    # The alias table and the uk/ru dictionaries (~0.3 s), loaded off the loop once, before
    # the first query needs them.
    await asyncio.to_thread(shipped_aliases)
    index = SubscriptionIndex()
    last_id = 0
    while page := await storage.subscription_page(last_id, SUBSCRIPTION_PAGE_SIZE):
        index.add_many((chat_id, query, display) for _, chat_id, query, display in page)
        last_id = page[-1][0]
    log.info("Indexed %d subscriptions (%d distinct queries)", len(index), index.distinct_queries)
    return Services(
        settings=settings,
        storage=storage,
        index=index,
        fetcher=fetcher,
        parsers=parsers,
        started_at=time.time(),
    )
