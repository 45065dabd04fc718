"""Tuning: subscriptions' mutes (subscriptions.muted_until) and chats' hidden feeds."""

import json

import aiosqlite

from bot.storage.models import Subscription
from bot.storage.sqlite.connection import SqliteBase, reading, serialized
from bot.storage.sqlite.subscriptions import SUBSCRIPTION_COLUMNS, subscription_from_row
from bot.storage.tuning import HiddenFeed, MutedSubscription, SentAlert


class TuningMixin(SqliteBase):
    """The subscriptions' muted_until column and the hidden_feeds table."""

    @serialized
    async def mute_subscription(
        self, chat_id: int, subscription_id: int, until: float | None
    ) -> Subscription | None:
        """Mute one of the chat's subscriptions until a time (None: unmute it)."""
        async with self._db.execute(
            f"""UPDATE subscriptions SET muted_until = ? WHERE chat_id = ? AND id = ?
               RETURNING {SUBSCRIPTION_COLUMNS}""",
            (until, chat_id, subscription_id),
        ) as cursor:
            row = await cursor.fetchone()
        return subscription_from_row(row) if row else None

    @reading
    async def muted_subscriptions(
        self, db: aiosqlite.Connection, chat_id: int, now: float
    ) -> list[MutedSubscription]:
        """Return the chat's subscriptions muted beyond now, oldest subscription first."""
        rows = await db.execute_fetchall(  # one hop (see get_chat)
            f"""SELECT {SUBSCRIPTION_COLUMNS}, muted_until FROM subscriptions
               WHERE chat_id = ? AND muted_until > ? ORDER BY id""",
            (chat_id, now),
        )
        return [MutedSubscription(subscription_from_row(row), float(row[5])) for row in rows]

    @serialized
    async def hide_feed(self, chat_id: int, feed_id: int, now: float) -> bool:
        """Hide a feed from the chat's alerts; False when the feed is unknown or hidden."""
        cursor = await self._db.execute(
            """INSERT INTO hidden_feeds (chat_id, feed_id, hidden_at)
               SELECT c.id, f.id, ? FROM chats c, feeds f WHERE c.id = ? AND f.id = ?
               ON CONFLICT DO NOTHING""",
            (now, chat_id, feed_id),
        )
        return cursor.rowcount > 0

    @serialized
    async def show_feed(self, chat_id: int, feed_id: int) -> bool:
        """Show a hidden feed in the chat's alerts again; False when it was not hidden."""
        cursor = await self._db.execute(
            "DELETE FROM hidden_feeds WHERE chat_id = ? AND feed_id = ?", (chat_id, feed_id)
        )
        return cursor.rowcount > 0

    @reading
    async def hidden_feeds(self, db: aiosqlite.Connection, chat_id: int) -> list[HiddenFeed]:
        """Return the feeds the chat hid, in the order it hid them."""
        rows = await db.execute_fetchall(  # one hop (see get_chat)
            """SELECT f.id, f.title, f.url FROM hidden_feeds h JOIN feeds f ON f.id = h.feed_id
               WHERE h.chat_id = ? ORDER BY h.hidden_at, f.id""",
            (chat_id,),
        )
        return [HiddenFeed(int(r[0]), str(r[1] or ""), str(r[2])) for r in rows]

    @reading
    async def sent_alert(
        self, db: aiosqlite.Connection, chat_id: int, story_id: int, thread_id: int | None = None
    ) -> SentAlert | None:
        """Return the alert about this story queued to this chat's topic, or None."""
        async with db.execute(
            """SELECT o.story_id, s.feed_id, coalesce(f.title, ''), o.matched, o.thread_id
               FROM outbox o JOIN stories s ON s.id = o.story_id
               LEFT JOIN feeds f ON f.id = s.feed_id
               WHERE o.chat_id = ? AND o.story_id = ? AND o.kind = 'alert'
                 AND o.thread_id IS ? LIMIT 1""",
            (chat_id, story_id, thread_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return SentAlert(
            story_id=int(row[0]),
            feed_id=None if row[1] is None else int(row[1]),
            source=str(row[2]),
            matched=tuple(json.loads(row[3])),
            thread_id=None if row[4] is None else int(row[4]),
        )
