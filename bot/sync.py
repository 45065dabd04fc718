"""Changes any instance committed, applied to what this instance keeps in memory.

Storage announces them (bot.storage.changes; on PostgreSQL by NOTIFY, on SQLite not at all:
one process). This instance hears its own changes too: applying one reads the state from
storage again, so applying twice, late or out of turn ends in what storage holds.
"""

import logging
from collections.abc import Callable

from bot.delivery.chat_schedules import Retime
from bot.matching.index import SubscriptionIndex
from bot.services import ChatLanguages
from bot.storage import Storage
from bot.storage.changes import Change, ChangeKind

log = logging.getLogger(__name__)

# Subscriptions read per page when everything is read again.
RESYNC_PAGE_SIZE = 10_000


class ChangeApplier:
    """Keeps the subscription index, the languages cache and the held digest lines true to
    what every instance commits."""

    def __init__(
        self,
        storage: Storage,
        index: SubscriptionIndex,
        languages: ChatLanguages,
        retime: Retime | None = None,
        on_applied: Callable[[Change], None] | None = None,
    ) -> None:
        self._storage = storage
        self._index = index
        self._languages = languages
        self._retime = retime
        # Called after each change is applied (tests wait on it).
        self._on_applied = on_applied

    async def apply(self, change: Change) -> None:
        """Apply one change (StorageUnavailable propagates: the stream resynchronises)."""
        if change.kind is ChangeKind.SUBSCRIPTIONS:
            await self._reload_chat(change.chat_id)
        elif change.kind is ChangeKind.LANGUAGE:
            self._languages.forget(change.chat_id)
        elif change.kind is ChangeKind.SCHEDULE:
            if self._retime is not None:
                self._retime(change.chat_id, change.at)
        elif change.kind is ChangeKind.RESYNC:
            self._languages.forget()
            await self.resync()
        log.debug("Applied %s", change)
        if self._on_applied is not None:
            self._on_applied(change)

    async def _reload_chat(self, chat_id: int) -> None:
        """Make the index hold exactly the chat's stored subscriptions."""
        stored = await self._storage.list_subscriptions(chat_id)
        # In id order, the last display of a query wins, as at start (app.build_services).
        wanted = {subscription.query: subscription.display for subscription in stored}
        self._converge({chat_id: self._index.subscriptions_of(chat_id)}, {chat_id: wanted})

    async def resync(self) -> None:
        """Read every subscription again and bring the index to it (changes were missed)."""
        wanted: dict[int, dict[str, str]] = {}
        last_id = 0
        while page := await self._storage.subscription_page(last_id, RESYNC_PAGE_SIZE):
            for _, chat_id, query, display in page:
                wanted.setdefault(chat_id, {})[query] = display
            last_id = page[-1][0]
        current: dict[int, dict[str, str]] = {}
        for chat_id, query, display in self._index.entries():
            current.setdefault(chat_id, {})[query] = display
        changed = self._converge(current, wanted)
        log.info("Subscription index read again: %d chats changed", changed)

    def _converge(
        self, current: dict[int, dict[str, str]], wanted: dict[int, dict[str, str]]
    ) -> int:
        """Change the index from current to wanted; return how many chats changed."""
        changed = 0
        for chat_id in current.keys() | wanted.keys():
            now, then = current.get(chat_id, {}), wanted.get(chat_id, {})
            if now == then:
                continue
            changed += 1
            self._index.remove_chat(chat_id, [query for query in now if query not in then])
            for query, display in then.items():
                if now.get(query) != display:
                    self._index.add(chat_id, query, display)
        return changed
