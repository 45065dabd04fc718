"""Chats' claims, written by plain sqlite3 calls on the writer connection's own thread.

claim_chats (claims.py) runs the claims of every chat whose turn came in one transaction, as
one call there (SqliteBase._on_writer_thread). Claimed one chat at a time through aiosqlite,
a claim was ~7 hops to that thread and back through the event loop, and the worker waited
for them in turn: at 300 messages a second the claims took most of the worker's loop (bench:
the paid tier). The planner runs here too: it is pure, and the worker's loop, the only
other user of what it reads (the MatchLog), is waiting for this call.
"""

import json
import sqlite3
from collections.abc import Sequence

from bot.delivery.burst import BURST_WINDOW_SECONDS
from bot.storage.claims import (
    ChatSubscription,
    ChatWork,
    Claim,
    ClaimedRow,
    ClaimPlanner,
    PlannedRow,
    schedule_of,
)
from bot.storage.leases import Lease, row_lease_until
from bot.storage.models import ChatStatus, ChatType


def claim_rows(
    db: sqlite3.Connection,
    chat_ids: Sequence[int],
    plan: ClaimPlanner,
    now: float,
    lease: Lease | None = None,
) -> list[Claim]:
    """Claim each chat in turn (the caller holds the transaction); one Claim per chat. With
    a lease, the rows queued are leased to its instance, and a chat whose pending rows
    another instance holds claims nothing (held_until)."""
    return [_claim(db, chat_id, plan, now, lease) for chat_id in chat_ids]


def _claim(
    db: sqlite3.Connection, chat_id: int, plan: ClaimPlanner, now: float, lease: Lease | None
) -> Claim:
    chat = db.execute(
        """SELECT c.status, c.type, c.match_cursor,
                  (SELECT group_concat(feed_id) FROM hidden_feeds WHERE chat_id = c.id),
                  s.timezone, s.quiet_start, s.quiet_end, s.digest_times
           FROM chats c LEFT JOIN chat_schedules s ON s.chat_id = c.id
           WHERE c.id = ?""",
        (chat_id,),
    ).fetchone()
    if chat is None:
        return Claim(chat_id, ChatType.PRIVATE, ())
    if ChatStatus(chat[0]) is not ChatStatus.ACTIVE:
        # Nothing to queue or move: reactivation moves the cursor (chats_reactivated).
        return Claim(chat_id, ChatType(chat[1]), ())
    if lease is not None and (held := _held_elsewhere(db, chat_id, lease, now)):
        return Claim(chat_id, ChatType(chat[1]), (), held_until=held)
    work = ChatWork(
        chat_id,
        int(chat[2]),
        _chat_subscriptions(db, chat_id),
        _recent_alerts(db, chat_id, now - BURST_WINDOW_SECONDS),
        schedule_of(*chat[4:8]),
        hidden_feeds=_feed_ids(chat[3]),
        shared=ChatType(chat[1]).shared,
    )
    decided = plan(work)
    rows = _queue_rows(db, chat_id, decided.rows, now)
    if lease is not None and rows:
        db.executemany(
            "UPDATE outbox SET claimed_by = ?, lease_until = ? WHERE id = ?",
            [(lease.instance, row_lease_until(lease, now, row.not_before), row.id) for row in rows],
        )
    db.execute(
        "UPDATE chats SET match_cursor = max(match_cursor, ?) WHERE id = ?",
        (decided.through, chat_id),
    )
    return Claim(chat_id, ChatType(chat[1]), rows, decided.more)


def _held_elsewhere(db: sqlite3.Connection, chat_id: int, lease: Lease, now: float) -> float | None:
    (until,) = db.execute(
        """SELECT max(lease_until) FROM outbox
           WHERE chat_id = ? AND status = 'pending' AND claimed_by <> ?
               AND lease_until >= ? AND next_attempt_at <= ?""",
        (chat_id, lease.instance, now, lease.until),
    ).fetchone()
    return None if until is None else float(until)


def _chat_subscriptions(db: sqlite3.Connection, chat_id: int) -> tuple[ChatSubscription, ...]:
    rows = db.execute(
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


def _recent_alerts(db: sqlite3.Connection, chat_id: int, since: float) -> int:
    (count,) = db.execute(
        """SELECT count(*) FROM outbox
           WHERE chat_id = ? AND created_at >= ? AND kind = 'alert'""",
        (chat_id, since),
    ).fetchone()
    return int(count)


def _queue_rows(
    db: sqlite3.Connection, chat_id: int, planned: Sequence[PlannedRow], now: float
) -> tuple[ClaimedRow, ...]:
    if not planned:
        return ()
    # Inside the write transaction nobody else inserts: the rows above the last id are
    # this claim's.
    (last,) = db.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()
    # A story pruned since it matched queues nothing; a row the chat already has for the
    # story (one alert per story per chat) is not queued twice.
    db.executemany(
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
    rows = db.execute(
        """SELECT id, kind, next_attempt_at FROM outbox WHERE id > ? AND chat_id = ?
           ORDER BY id""",
        (last, chat_id),
    )
    return tuple(ClaimedRow(int(r[0]), str(r[1]), float(r[2])) for r in rows)


def _feed_ids(listed: str | None) -> frozenset[int]:
    """Return the feed ids group_concat listed ("3,7"; None for none)."""
    return frozenset(int(value) for value in listed.split(",")) if listed else frozenset()
