"""Scenario 7: the outbox in SQLite: queue rows, then claim and mark them in batches.

Queueing goes through Storage.save_poll (one story matching the query outbox_rows / POLLS
users subscribe to, per poll, as the poller writes it), then each chat's claim (fan-out on
read: the delivery worker claims a chat's pending stories when it may send to it; here every
chat at once, the worst case). Claiming and marking follows the delivery worker's
batching: every pending row listed once (pending_outbox), rows loaded CLAIM_BATCH at a time
(load_outbox; the worker loads as many as it may send at once), and their outcomes written
together (record_deliveries; the worker commits what is answered as one group, at most its
sends in flight: CLAIM_BATCH = 30 is that limit at 300 msg/s, the paid tier).
"""

from __future__ import annotations

import asyncio
import gc
import time

from bench.common import Figure, Run, Stopwatch, at_most, median
from bench.fanout import claim_chats
from bench.harness import create_database, populate
from bot.ingest.stories import story_from_entry
from bot.storage import Delivery, PollToSave, StoryToSave
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import analyze

SCENARIO = "7 storage"
FEED_URL = "https://bench.example/storage.xml"
POLLS = 20
CLAIM_BATCH = 30
TITLE = "Ukraine and NATO ministers meet in Brussels"
SUMMARY = "Defence ministers met in Brussels on Tuesday to discuss air defence and training."


async def one_repetition(run: Run, number: int) -> tuple[float, float, float, int]:
    """Queue outbox_rows rows, then claim and mark every one; return both times and count."""
    sizes = run.sizes
    users_per_poll = sizes.outbox_rows // POLLS
    database = run.scratch(f"storage-{number}") / "newshound.sqlite3"
    await create_database(database)
    await asyncio.to_thread(
        populate,
        database,
        user_ids=range(1, users_per_poll + 1),
        subscriptions=[(user, "ukraine", "Ukraine") for user in range(1, users_per_poll + 1)],
        feed_urls=[FEED_URL],
    )
    storage = await SqliteStorage.open(database)
    try:
        feed = await storage.get_feed_by_url(FEED_URL)
        assert feed is not None
        users = range(1, users_per_poll + 1)
        polls = []
        now = time.time()
        for poll in range(POLLS):
            story = story_from_entry(
                feed.id,
                f"urn:bench:storage:{poll}",
                f"https://bench.example/s/{poll}",
                f"{TITLE} #{poll}",
                None,
                SUMMARY,
            )
            analyzed = analyze(story.title + "\n" + SUMMARY)
            polls.append(
                PollToSave(
                    feed_id=feed.id,
                    url=FEED_URL,
                    title="Bench Wire",
                    etag=None,
                    last_modified=None,
                    next_poll_at=now + 300,
                    now=now,
                    alerts_enabled=True,
                    stories=(StoryToSave(story=story, analyzed=analyzed, alertable=True),),
                )
            )
        gc.collect()
        with Stopwatch() as insert:
            for poll_to_save in polls:
                await storage.save_poll(poll_to_save, lambda _: ("ukraine",))
        with Stopwatch() as turns:
            # Past the burst limit: each chat's one turn queues its 20 stories as one digest.
            queued, claims = await claim_chats(storage, users, now, burst_limit=0)
        with Stopwatch() as claim:
            pending = await storage.pending_outbox()
            for start in range(0, len(pending), CLAIM_BATCH):
                ids = [row.id for row in pending[start : start + CLAIM_BATCH]]
                outcomes = [
                    Delivery(item.id, item.chat_id, "sent", item.attempts + 1)
                    for item in await storage.load_outbox(ids)
                ]
                await storage.record_deliveries(outcomes, time.time())
        counts = await storage.outbox_counts()
    finally:
        await storage.close()
    if counts.get("sent", 0) != queued or queued != users_per_poll * POLLS:
        raise RuntimeError(f"queued {queued}, outbox now {counts}")
    return insert.seconds, turns.seconds / claims, claim.seconds, queued


async def run(run: Run) -> list[Figure]:
    """Time storing the matches, the chats' turns that queue the rows, and draining them."""
    inserts: list[float] = []
    per_turn: list[float] = []
    claims: list[float] = []
    rows = 0
    for number in range(run.repeat):
        insert, turn, claim, rows = await one_repetition(run, number)
        inserts.append(insert)
        per_turn.append(turn * 1000)
        claims.append(claim)
    return [
        Figure(
            SCENARIO,
            f"store {POLLS} stories matched by {rows // POLLS:,} chats each (poll time)",
            median(inserts),
            "s",
            at_most(2, "s"),
            f"{POLLS} save_poll calls: one match row per story (fan-out on read); before issue "
            "12 this queued the 100,000 outbox rows",
            tuple(inserts),
        ),
        Figure(
            SCENARIO,
            "one chat's turn: claim its pending stories, queue the rows, move the cursor",
            median(per_turn),
            "ms",
            at_most(1000 / 300, "ms"),
            f"{rows:,} rows in {rows // POLLS:,} turns of {POLLS} stories (one digest), one "
            "transaction each; a turn precedes each message: target 300 msg/s, the paid tier, "
            "on one core",
            tuple(per_turn),
        ),
        Figure(
            SCENARIO,
            f"claim and mark {rows:,} rows",
            median(claims),
            "s",
            at_most(5, "s"),
            f"load and record {CLAIM_BATCH} at a time",
            tuple(claims),
        ),
    ]
