"""Fan-out on read: story matches for the delivery worker, and a chat's claim of its work.

A claim reads the chat (status, cursor, subscriptions, recent alerts), lets the planner it
is given decide (bot.delivery.fanout + burst), then queues the planned outbox rows and moves
the chat's cursor in the same transaction: a crash before the commit leaves the stories
pending, after it leaves them queued, never both and never neither.
"""

import json
from collections.abc import Sequence

from bot.storage.claims import Claim, ClaimPlanner, StoryMatch
from bot.storage.leases import Lease
from bot.storage.sqlite.claim_rows import claim_rows
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
        [claim] = await self._transaction_on_writer(
            lambda db: claim_rows(db, (chat_id,), plan, now, lease)
        )
        return claim

    @serialized
    async def claim_chats(
        self,
        chat_ids: Sequence[int],
        plan: ClaimPlanner,
        now: float,
        *,
        lease: Lease | None = None,
    ) -> list[Claim]:
        """claim_chat for each chat, all in one transaction (one call on the writer's
        thread: claim_rows.py)."""
        if not chat_ids:
            return []
        return await self._transaction_on_writer(
            lambda db: claim_rows(db, chat_ids, plan, now, lease)
        )
