"""What the bot asks of its database, one protocol per entity, and Storage: all of them.

A backend implements Storage (bot/storage/sqlite and bot/storage/postgres); everything else in the
bot depends on these protocols only, and tests/storage_contract runs a backend through them.
Writes that span entities (UnitOfWork) are each one transaction: all of it or nothing.
"""

from collections.abc import Sequence
from typing import Protocol

from bot.storage.changes import Changes
from bot.storage.channels import Channels
from bot.storage.claims import Claims, Schedules
from bot.storage.edits import AlertEdits
from bot.storage.health import Health
from bot.storage.instances import Instances
from bot.storage.leases import DeliveryLeases
from bot.storage.models import (
    AddedSubscriptions,
    Broadcast,
    Chat,
    ChatSeen,
    ChatStatus,
    Delivery,
    Feed,
    OutboxItem,
    PendingRow,
    PollToSave,
    PrunedPage,
    SavedPoll,
    Stats,
    StoryMatcher,
    Subscription,
)
from bot.storage.search import StorySearch
from bot.storage.tuning import Tuning


class Chats(Protocol):
    """Subscribing chats (private, group, supergroup, channel) and whether they get alerts."""

    async def register_chat(self, chat: ChatSeen, now: float) -> Chat:
        """Create or refresh a chat and make it active again.

        Type, title and username follow what Telegram says now; the language is kept once
        known (set on first contact, changed only by set_chat_language)."""

    async def update_chat(self, chat: ChatSeen, now: float) -> bool:
        """Refresh a known chat's type, title and username, its status unchanged; return
        False when the chat is unknown."""

    async def get_chat(self, chat_id: int) -> Chat | None:
        """Return the chat, or None if it never talked to the bot."""

    async def set_chat_language(self, chat_id: int, language: str, now: float) -> bool:
        """Set the language the chat chose (kept from then on); False when it is unknown."""

    async def set_chat_status(self, chat_id: int, status: ChatStatus, now: float) -> bool:
        """Set a chat's status; return False when the chat is unknown."""

    async def change_chat_status(
        self, chat_id: int, status: ChatStatus, now: float, *, only_from: Sequence[ChatStatus]
    ) -> bool:
        """Set a chat's status if it is now one of only_from; return whether it changed."""

    async def count_active_chats(self) -> int:
        """Return how many chats would receive a broadcast now."""


class Subscriptions(Protocol):
    """Each chat's stored queries."""

    async def add_subscriptions(
        self,
        chat_id: int,
        queries: Sequence[tuple[str, str]],
        limit: int,
        now: float,
        *,
        thread_id: int | None = None,
    ) -> AddedSubscriptions:
        """Store (normalised, display) queries up to the chat's limit, all or nothing.

        A query is stored once per (chat, forum topic); the limit counts the whole chat."""

    async def list_subscriptions(self, chat_id: int) -> list[Subscription]:
        """Return the chat's subscriptions, oldest first."""

    async def remove_subscription(self, chat_id: int, normalised: str) -> Subscription | None:
        """Delete the chat's subscription with this normalised query; return it if it existed."""

    async def remove_subscription_by_id(
        self, chat_id: int, subscription_id: int
    ) -> Subscription | None:
        """Delete one of the chat's subscriptions by id; someone else's id deletes nothing."""

    async def remove_all_subscriptions(self, chat_id: int) -> list[Subscription]:
        """Delete every subscription of the chat; return what was deleted."""

    async def move_subscriptions(
        self, chat_id: int, subscription_ids: Sequence[int], thread_id: int | None
    ) -> list[Subscription]:
        """Send these subscriptions of the chat to forum topic thread_id (None: the chat
        itself), in one transaction; return those that were elsewhere, as they are now.

        One whose query the topic already has is merged into that one (deleted); other
        chats' ids and those already there are left alone."""

    async def subscription_page(self, after_id: int, limit: int) -> list[tuple[int, int, str, str]]:
        """Return (id, chat, query, display) of up to limit subscriptions after after_id."""

    async def all_subscriptions(self) -> list[Subscription]:
        """Return every subscription of every chat, oldest first."""


class Feeds(Protocol):
    """Watched feeds and their polling state."""

    async def add_feed(
        self, url: str, now: float, *, trusted: bool, title: str = ""
    ) -> tuple[Feed, bool]:
        """Add a feed unless its URL is known; return it and whether it was new."""

    async def get_feed_by_url(self, url: str) -> Feed | None:
        """Return the feed with this URL, if any."""

    async def list_feeds(self) -> list[Feed]:
        """Return every feed in the order they were added."""

    async def remove_feed(self, feed_id: int) -> bool:
        """Delete a feed; its stories stay (unlinked) so they still deduplicate."""

    async def lease_due_feeds(
        self, instance: str, now: float, until: float, limit: int
    ) -> list[Feed]:
        """Lease to `instance`, until `until`, up to `limit` feeds whose next poll time has
        come and that no other instance holds (a lease ended by `now` holds nothing); return
        them most overdue first, those `instance` held already after the others. No two
        instances hold a feed at once. The poll's outcome (save_poll, record_not_modified,
        record_poll_failure) releases the lease."""

    async def next_poll_time(self) -> float | None:
        """Return the earliest time a feed may be leased: its next poll time, or the end of
        its lease when that is later."""

    async def record_poll_failure(
        self, feed_id: int, error: str, next_poll_at: float, now: float
    ) -> None:
        """Count one more consecutive failure and keep its reason."""

    async def record_not_modified(self, feed_id: int, next_poll_at: float, now: float) -> None:
        """Note a successful poll that found the feed unchanged (a 304, or the body last saved)."""


class Outbox(Protocol):
    """Messages waiting to be sent, and what sending them needs."""

    async def pending_outbox(
        self, after_id: int = 0, *, broadcasts_only: bool = False
    ) -> list[PendingRow]:
        """Return pending rows with id > after_id, oldest first (or only broadcast rows)."""

    async def load_outbox(
        self, ids: Sequence[int], *, leased_by: str | None = None
    ) -> list[OutboxItem]:
        """Return what is needed to send each of these rows (with leased_by: those it holds)."""

    async def pending_digest(self, chat_id: int, due_by: float) -> list[OutboxItem]:
        """Return every pending digest row of a chat due by then, oldest first."""

    async def drop_pending_for_chat(self, chat_id: int, reason: str) -> int:
        """Drop a chat's pending rows (it paused); return how many."""

    async def outbox_counts(self) -> dict[str, int]:
        """Return the number of outbox rows by status."""


class Broadcasts(Protocol):
    """Admins' announcements, from draft to done."""

    async def create_broadcast(self, admin_id: int, text: str, now: float) -> Broadcast:
        """Store a draft broadcast awaiting its admin's confirmation."""

    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        """Return the broadcast, if it exists."""

    async def broadcasts_in_progress(self) -> list[Broadcast]:
        """Return confirmed broadcasts not yet reported as finished."""

    async def cancel_broadcast(self, broadcast_id: int, admin_id: int) -> bool:
        """Cancel this admin's draft; False if it was not a draft of theirs."""

    async def broadcast_progress(self, broadcast_id: int) -> dict[str, int]:
        """Return the broadcast's outbox rows counted by status."""

    async def finish_broadcast(self, broadcast_id: int, now: float) -> bool:
        """Mark a broadcast as fully processed and reported; False if it already was (another
        instance finished it)."""


class StatsSource(Protocol):
    """The figures /stats shows."""

    async def stats(self, now: float, top: int = 10) -> Stats:
        """Return the figures /stats shows."""


class Retention(Protocol):
    """Pruning what bot.storage.retention says is past keeping, a small batch at a time."""

    async def prune_outbox(self, before: float, after: tuple[float, int], limit: int) -> PrunedPage:
        """Delete finished outbox rows created (and sent) before `before`, looking at the
        `limit` rows after `after` (created_at, id); pending rows are never touched."""

    async def prune_stories(
        self, before: float, after: tuple[float, int], limit: int
    ) -> PrunedPage:
        """Delete stories first seen before `before` that can never alert again, looking at
        the `limit` stories after `after` (seen_at, id)."""

    async def prune_story_texts(self, before: float, limit: int) -> int:
        """Forget up to `limit` of the dry run's story texts seen before `before` (their
        stories stay); return how many."""

    async def release_free_pages(self, pages: int) -> int:
        """Give up to `pages` free pages back to the file system; return how many stay free."""


class UnitOfWork(Protocol):
    """Writes that span entities, each one transaction."""

    async def save_poll(self, poll: PollToSave, match: StoryMatcher) -> SavedPoll:
        """Store a poll's new stories, the distinct queries each matched (`match`; one row
        per story, fanned out to chats at delivery) and the feed's state, together.

        Stories come into the database only this way."""

    async def confirm_broadcast(
        self,
        broadcast_id: int,
        admin_id: int,
        now: float,
        *,
        status_chat_id: int | None = None,
        status_message_id: int | None = None,
    ) -> int | None:
        """Queue a draft for every active chat, once; None unless it was this admin's draft."""

    async def migrate_chat(
        self, old_chat_id: int, new_chat_id: int, now: float
    ) -> list[Subscription]:
        """Move a group that became a supergroup to its new id (its type becomes supergroup);
        return its subscriptions."""

    async def record_deliveries(self, outcomes: Sequence[Delivery], now: float) -> None:
        """Write the outcome of a batch of sends; a blocked chat's pending rows go too."""


class Storage(
    Chats,
    Channels,
    Subscriptions,
    Feeds,
    Outbox,
    DeliveryLeases,
    Claims,
    Schedules,
    Broadcasts,
    StatsSource,
    Retention,
    StorySearch,
    Tuning,
    Health,
    AlertEdits,
    Instances,
    UnitOfWork,
    Changes,
    Protocol,
):
    """The whole database, as the bot uses it."""

    async def schema_version(self) -> int:
        """Return the version of the schema the database is at."""

    async def integrity_check(self) -> str:
        """Return the database's own health verdict ("ok" when healthy)."""

    async def close(self) -> None:
        """Release the connections."""
