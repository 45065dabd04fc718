"""Tuning: subscriptions' mutes (subscriptions.muted_until) and chats' hidden feeds."""

import json

from bot.storage.models import Subscription
from bot.storage.postgres.connection import PostgresBase
from bot.storage.postgres.subscriptions import SUBSCRIPTION_COLUMNS, subscription_from_row
from bot.storage.tuning import HiddenFeed, MutedSubscription, SentAlert


class TuningMixin(PostgresBase):
    """The subscriptions' muted_until column and the hidden_feeds table."""

    async def mute_subscription(
        self, chat_id: int, subscription_id: int, until: float | None
    ) -> Subscription | None:
        """Mute one of the chat's subscriptions until a time (None: unmute it)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""UPDATE subscriptions SET muted_until = %s WHERE chat_id = %s AND id = %s
                   RETURNING {SUBSCRIPTION_COLUMNS}""",
                (until, chat_id, subscription_id),
            )
            row = await cursor.fetchone()
        return subscription_from_row(row) if row else None

    async def muted_subscriptions(self, chat_id: int, now: float) -> list[MutedSubscription]:
        """Return the chat's subscriptions muted beyond now, oldest subscription first."""
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""SELECT {SUBSCRIPTION_COLUMNS}, muted_until FROM subscriptions
                   WHERE chat_id = %s AND muted_until > %s ORDER BY id""",
                (chat_id, now),
            )
            rows = await cursor.fetchall()
        return [MutedSubscription(subscription_from_row(row), float(row[5])) for row in rows]

    async def hide_feed(self, chat_id: int, feed_id: int, now: float) -> bool:
        """Hide a feed from the chat's alerts; False when the feed is unknown or hidden."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """INSERT INTO hidden_feeds (chat_id, feed_id, hidden_at)
                   SELECT c.id, f.id, %s FROM chats c, feeds f WHERE c.id = %s AND f.id = %s
                   ON CONFLICT DO NOTHING""",
                (now, chat_id, feed_id),
            )
            return cursor.rowcount > 0

    async def show_feed(self, chat_id: int, feed_id: int) -> bool:
        """Show a hidden feed in the chat's alerts again; False when it was not hidden."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM hidden_feeds WHERE chat_id = %s AND feed_id = %s", (chat_id, feed_id)
            )
            return cursor.rowcount > 0

    async def hidden_feeds(self, chat_id: int) -> list[HiddenFeed]:
        """Return the feeds the chat hid, in the order it hid them."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT f.id, f.title, f.url FROM hidden_feeds h
                   JOIN feeds f ON f.id = h.feed_id
                   WHERE h.chat_id = %s ORDER BY h.hidden_at, f.id""",
                (chat_id,),
            )
            rows = await cursor.fetchall()
        return [HiddenFeed(int(r[0]), str(r[1] or ""), str(r[2])) for r in rows]

    async def sent_alert(
        self, chat_id: int, story_id: int, thread_id: int | None = None
    ) -> SentAlert | None:
        """Return the alert about this story queued to this chat's topic, or None."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT o.story_id, s.feed_id, coalesce(f.title, ''), o.matched, o.thread_id
                   FROM outbox o JOIN stories s ON s.id = o.story_id
                   LEFT JOIN feeds f ON f.id = s.feed_id
                   WHERE o.chat_id = %s AND o.story_id = %s AND o.kind = 'alert'
                     AND o.thread_id IS NOT DISTINCT FROM %s LIMIT 1""",
                (chat_id, story_id, thread_id),
            )
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
