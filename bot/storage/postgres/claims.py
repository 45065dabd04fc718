"""Fan-out on read: story matches for the delivery worker, and a chat's claim of its work.

As in sqlite/claims.py: a claim reads the chat, lets the planner decide, then queues the
planned outbox rows and moves the chat's cursor in the same transaction. The chat's row is
locked for it (FOR UPDATE): two claims of one chat at once would plan from the same cursor.
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
from bot.storage.leases import Lease
from bot.storage.models import ChatStatus, ChatType
from bot.storage.postgres.connection import Connection
from bot.storage.postgres.schedules import SchedulesMixin


class ClaimsMixin(SchedulesMixin):
    """The story_matches table, chats' match cursors and the delivery watermark."""

    async def story_matches(self, after_id: int, limit: int) -> list[StoryMatch]:
        """Return up to limit stored matches with an id above after_id, in id order."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT m.id, m.story_id, m.queries, m.matched_at, s.feed_id
                   FROM story_matches m LEFT JOIN stories s ON s.id = m.story_id
                   WHERE m.id > %s ORDER BY m.id LIMIT %s""",
                (after_id, limit),
            )
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

    async def delivery_watermark(self) -> int:
        """Return the match id every chat has dealt with everything up to."""
        async with self._transaction() as db:
            cursor = await db.execute("SELECT watermark FROM delivery_state")
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def advance_watermark(self, through: int) -> None:
        """Record that every chat has dealt with every match up to through, and forget those
        matches: nobody will read them again."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE delivery_state SET watermark = greatest(watermark, %s)", (through,)
            )
            await db.execute("DELETE FROM story_matches WHERE id <= %s", (through,))

    async def claim_chat(
        self, chat_id: int, plan: ClaimPlanner, now: float, *, lease: Lease | None = None
    ) -> Claim:
        """Queue a chat's pending stories as planned and move its cursor, in one transaction
        (with a lease: unless another instance holds the chat's pending rows)."""
        async with self._transaction() as db:
            return await _claim(db, chat_id, plan, now, lease)

    async def claim_chats(
        self,
        chat_ids: Sequence[int],
        plan: ClaimPlanner,
        now: float,
        *,
        lease: Lease | None = None,
    ) -> list[Claim]:
        """claim_chat for each chat, all in one transaction; the claims in the order given."""
        if not chat_ids:
            return []
        async with self._transaction() as db:
            # Rows locked in id order, whatever the turns' order: two transactions locking
            # chats cannot wait on each other in a cycle.
            claims = {
                chat_id: await _claim(db, chat_id, plan, now, lease) for chat_id in sorted(chat_ids)
            }
        return [claims[chat_id] for chat_id in chat_ids]


async def _claim(
    db: Connection, chat_id: int, plan: ClaimPlanner, now: float, lease: Lease | None
) -> Claim:
    """One chat's claim, inside the caller's transaction (its row locked till the commit);
    with a lease, none while another instance holds the chat's pending rows."""
    cursor = await db.execute(
        """SELECT c.status, c.type, c.match_cursor,
                  ARRAY(SELECT feed_id FROM hidden_feeds WHERE chat_id = c.id),
                  s.timezone, s.quiet_start, s.quiet_end, s.digest_times
           FROM chats c LEFT JOIN chat_schedules s ON s.chat_id = c.id
           WHERE c.id = %s FOR UPDATE OF c""",
        (chat_id,),
    )
    chat = await cursor.fetchone()
    if chat is None:
        return Claim(chat_id, ChatType.PRIVATE, ())
    if ChatStatus(chat[0]) is not ChatStatus.ACTIVE:
        # Nothing to queue or move: reactivation moves the cursor (chats_reactivated).
        return Claim(chat_id, ChatType(chat[1]), ())
    if lease is not None and (held := await _held_elsewhere(db, chat_id, lease, now)):
        return Claim(chat_id, ChatType(chat[1]), (), held_until=held)
    work = ChatWork(
        chat_id,
        int(chat[2]),
        await _chat_subscriptions(db, chat_id),
        await _recent_alerts(db, chat_id, now - BURST_WINDOW_SECONDS),
        schedule_of(*chat[4:8]),
        hidden_feeds=frozenset(int(feed_id) for feed_id in chat[3]),
        shared=ChatType(chat[1]).shared,
    )
    decided = plan(work)
    rows = await _queue_rows(db, chat_id, decided.rows, now, lease)
    await db.execute(
        "UPDATE chats SET match_cursor = greatest(match_cursor, %s) WHERE id = %s",
        (decided.through, chat_id),
    )
    return Claim(chat_id, ChatType(chat[1]), rows, decided.more)


async def _held_elsewhere(db: Connection, chat_id: int, lease: Lease, now: float) -> float | None:
    # The chat row is locked: every lease on its rows committed before is seen here.
    cursor = await db.execute(
        """SELECT max(lease_until) FROM outbox
           WHERE chat_id = %s AND status = 'pending' AND claimed_by <> %s
               AND lease_until >= %s AND next_attempt_at <= %s""",
        (chat_id, lease.instance, now, lease.until),
    )
    row = await cursor.fetchone()
    return None if row is None or row[0] is None else float(row[0])


async def _chat_subscriptions(db: Connection, chat_id: int) -> tuple[ChatSubscription, ...]:
    cursor = await db.execute(
        """SELECT id, query, display, thread_id, start_match, muted_until FROM subscriptions
           WHERE chat_id = %s ORDER BY id""",
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
        for r in await cursor.fetchall()
    )


async def _recent_alerts(db: Connection, chat_id: int, since: float) -> int:
    cursor = await db.execute(
        """SELECT count(*) FROM outbox
           WHERE chat_id = %s AND created_at >= %s AND kind = 'alert'""",
        (chat_id, since),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _queue_rows(
    db: Connection,
    chat_id: int,
    planned: Sequence[PlannedRow],
    now: float,
    lease: Lease | None,
) -> tuple[ClaimedRow, ...]:
    if not planned:
        return ()
    # One statement for the claim's rows. A story pruned since it matched queues nothing
    # (the join); a row the chat already has for the story is not queued twice.
    cursor = await db.execute(
        """INSERT INTO outbox (kind, story_id, chat_id, thread_id, matched, created_at,
                               next_attempt_at, claimed_by, lease_until)
           SELECT p.kind, s.id, %s, p.thread_id, p.matched, %s, p.not_before, %s,
                  greatest(%s, p.not_before + %s)
           FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[],
                       %s::double precision[]) WITH ORDINALITY
                AS p(kind, story_id, thread_id, matched, not_before, position)
           JOIN stories s ON s.id = p.story_id
           ORDER BY p.position
           ON CONFLICT DO NOTHING
           RETURNING id, kind, next_attempt_at""",
        (
            chat_id,
            now,
            None if lease is None else lease.instance,
            # A row held till later is leased as long past its time (leases.row_lease_until).
            None if lease is None else lease.until,
            None if lease is None else lease.until - now,
            [row.lane.value for row in planned],
            [row.story_id for row in planned],
            [row.thread_id for row in planned],
            [json.dumps(row.matched) for row in planned],
            [row.not_before for row in planned],
        ),
    )
    rows = sorted(await cursor.fetchall(), key=lambda row: int(row[0]))
    return tuple(ClaimedRow(int(r[0]), str(r[1]), float(r[2])) for r in rows)
