"""Fan-out on read: story matches for the delivery worker, and a chat's claim of its work.

A claim reads the chat (status, cursor, subscriptions, recent alerts), lets the planner it
is given decide (bot.delivery.fanout + burst), then queues the planned outbox rows and moves
the chat's cursor in the same transaction: a crash before the commit leaves the stories
pending, after it leaves them queued, never both and never neither.
"""

import json
from collections.abc import Sequence

from bot.delivery.burst import BURST_WINDOW_SECONDS
from bot.storage.claims import (
    ChatSubscription,
    ChatWork,
    Claim,
    ClaimedRow,
    ClaimPlanner,
    PlannedRow,
    StoryMatch,
    schedule_of,
)
from bot.storage.leases import Lease, row_lease_until
from bot.storage.models import ChatStatus, ChatType
from bot.storage.sqlite.connection import serialized
from bot.storage.sqlite.schedules import SchedulesMixin


class ClaimsMixin(SchedulesMixin):
    """The story_matches table, chats' match cursors and the delivery watermark."""

    @serialized
    async def story_matches(self, after_id: int, limit: int) -> list[StoryMatch]:
        """Return up to limit stored matches with an id above after_id, in id order."""
        async with self._db.execute(
            """SELECT m.id, m.story_id, m.queries, m.matched_at, s.feed_id
               FROM story_matches m LEFT JOIN stories s ON s.id = m.story_id
               WHERE m.id > ? ORDER BY m.id LIMIT ?""",
            (after_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            StoryMatch(
                int(r[0]),
                int(r[1]),
                tuple(json.loads(r[2])),
                float(r[3]),
                None if r[4] is None else int(r[4]),
            )
            for r in rows
        ]

    @serialized
    async def delivery_watermark(self) -> int:
        """Return the match id every chat has dealt with everything up to."""
        async with self._db.execute("SELECT watermark FROM delivery_state") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @serialized
    async def advance_watermark(self, through: int) -> None:
        """Record that every chat has dealt with every match up to through, and forget those
        matches: nobody will read them again."""
        async with self._transaction():
            await self._db.execute(
                "UPDATE delivery_state SET watermark = max(watermark, ?)", (through,)
            )
            await self._db.execute("DELETE FROM story_matches WHERE id <= ?", (through,))

    @serialized
    async def claim_chat(
        self, chat_id: int, plan: ClaimPlanner, now: float, *, lease: Lease | None = None
    ) -> Claim:
        """Queue a chat's pending stories as planned and move its cursor, in one transaction
        (with a lease: unless another instance holds the chat's pending rows)."""
        async with self._transaction():
            # Reads in one hop each (execute_fetchall): the writer lock is held meanwhile.
            found = list(
                await self._db.execute_fetchall(
                    # The feeds it hid and its schedule come along: a hop more per claim
                    # would cost a round trip to the database thread while the writer lock
                    # is held.
                    """SELECT c.status, c.type, c.match_cursor,
                              (SELECT group_concat(feed_id) FROM hidden_feeds
                               WHERE chat_id = c.id),
                              s.timezone, s.quiet_start, s.quiet_end, s.digest_times
                       FROM chats c LEFT JOIN chat_schedules s ON s.chat_id = c.id
                       WHERE c.id = ?""",
                    (chat_id,),
                )
            )
            chat = found[0] if found else None
            if chat is None:
                return Claim(chat_id, ChatType.PRIVATE, ())
            if ChatStatus(chat[0]) is not ChatStatus.ACTIVE:
                # Nothing to queue or move: reactivation moves the cursor (chats_reactivated).
                return Claim(chat_id, ChatType(chat[1]), ())
            if lease is not None and (held := await self._held_elsewhere(chat_id, lease, now)):
                return Claim(chat_id, ChatType(chat[1]), (), held_until=held)
            work = ChatWork(
                chat_id,
                int(chat[2]),
                await self._chat_subscriptions(chat_id),
                await self._recent_alerts(chat_id, now - BURST_WINDOW_SECONDS),
                schedule_of(*chat[4:8]),
                hidden_feeds=_feed_ids(chat[3]),
                shared=ChatType(chat[1]).shared,
            )
            decided = plan(work)
            rows = await self._queue_rows(chat_id, decided.rows, now)
            if lease is not None and rows:
                await self._db.executemany(
                    "UPDATE outbox SET claimed_by = ?, lease_until = ? WHERE id = ?",
                    [
                        (lease.instance, row_lease_until(lease, now, row.not_before), row.id)
                        for row in rows
                    ],
                )
            await self._db.execute(
                "UPDATE chats SET match_cursor = max(match_cursor, ?) WHERE id = ?",
                (decided.through, chat_id),
            )
        return Claim(chat_id, ChatType(chat[1]), rows, decided.more)

    async def _held_elsewhere(self, chat_id: int, lease: Lease, now: float) -> float | None:
        [(until,)] = await self._db.execute_fetchall(
            """SELECT max(lease_until) FROM outbox
               WHERE chat_id = ? AND status = 'pending' AND claimed_by <> ?
                   AND lease_until >= ? AND next_attempt_at <= ?""",
            (chat_id, lease.instance, now, lease.until),
        )
        return None if until is None else float(until)

    async def _chat_subscriptions(self, chat_id: int) -> tuple[ChatSubscription, ...]:
        rows = await self._db.execute_fetchall(
            """SELECT id, query, display, thread_id, start_match, muted_until FROM subscriptions
               WHERE chat_id = ? ORDER BY id""",
            (chat_id,),
        )
        return tuple(
            ChatSubscription(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                None if r[3] is None else int(r[3]),
                int(r[4]),
                None if r[5] is None else float(r[5]),
            )
            for r in rows
        )

    async def _recent_alerts(self, chat_id: int, since: float) -> int:
        [(count,)] = await self._db.execute_fetchall(
            """SELECT count(*) FROM outbox
               WHERE chat_id = ? AND created_at >= ? AND kind = 'alert'""",
            (chat_id, since),
        )
        return int(count)

    async def _queue_rows(
        self, chat_id: int, planned: Sequence[PlannedRow], now: float
    ) -> tuple[ClaimedRow, ...]:
        if not planned:
            return ()
        # Inside the write transaction nobody else inserts: the rows above the last id
        # are this claim's.
        [(last,)] = await self._db.execute_fetchall("SELECT coalesce(max(id), 0) FROM outbox")
        # A story pruned since it matched queues nothing; a row the chat already has for the
        # story (one alert per story per chat) is not queued twice.
        await self._db.executemany(
            """INSERT INTO outbox (kind, story_id, chat_id, thread_id, matched, created_at,
                                   next_attempt_at)
               SELECT ?, id, ?, ?, ?, ?, ? FROM stories WHERE id = ?
               ON CONFLICT DO NOTHING""",
            [
                (
                    row.lane.value,
                    chat_id,
                    row.thread_id,
                    json.dumps(row.matched),
                    now,
                    row.not_before,
                    row.story_id,
                )
                for row in planned
            ],
        )
        rows = await self._db.execute_fetchall(
            """SELECT id, kind, next_attempt_at FROM outbox WHERE id > ? AND chat_id = ?
               ORDER BY id""",
            (last, chat_id),
        )
        return tuple(ClaimedRow(int(r[0]), str(r[1]), float(r[2])) for r in rows)


def _feed_ids(listed: str | None) -> frozenset[int]:
    """Return the feed ids group_concat listed ("3,7"; None for none)."""
    return frozenset(int(value) for value in listed.split(",")) if listed else frozenset()
