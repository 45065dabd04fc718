"""Scenario 11: digests, as a chat's schedule holds stories and releases them as one digest.

digest_chats chats in Europe/Kyiv with digest times (08:00, 18:00) are subscribed to two
queries; digest_stories polls store one story each, matched by one query or the other. Each
chat's turn (the production claim: storage.claim_chat with the production planner, which
reads the chat's schedule) queues its stories as digest lines due at the next digest time.
At that time every chat's digest is assembled as the worker does it: its due lines read
(pending_digest) and rendered, grouped by query, into messages within Telegram's limits
(first_digest_message, once per message sent).
"""

from __future__ import annotations

import asyncio
import gc
import time

from bench.common import Figure, Run, Stopwatch, at_most, median
from bench.fanout import claim_chats
from bench.harness import create_database, populate
from bot.delivery.schedule import held_until
from bot.ingest.stories import story_from_entry
from bot.render.outbox import first_digest_message
from bot.storage import ChatSchedule, PollToSave, StoryMatcher, StoryToSave
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import analyze

SCENARIO = "11 digest"
FEED_URL = "https://bench.example/digest.xml"
QUERIES = (("ukraine", "Ukraine"), ("nato", "NATO"))
SCHEDULE = ChatSchedule("Europe/Kyiv", digest_times=(8 * 60, 18 * 60))
TITLE = "Ministers meet in Brussels to discuss air defence and training, officials say"


def matching(query: str) -> StoryMatcher:
    """A matcher that says the poll's story matches query."""
    return lambda _: (query,)


async def one_repetition(run: Run, number: int) -> tuple[float, float, int, int]:
    """Hold every chat's stories, then assemble every chat's digest; return both times, the
    lines held and the messages the digests took."""
    sizes = run.sizes
    chats = range(1, sizes.digest_chats + 1)
    database = run.scratch(f"digest-{number}") / "newshound.sqlite3"
    await create_database(database)
    await asyncio.to_thread(
        populate,
        database,
        user_ids=chats,
        subscriptions=[(chat, query, display) for chat in chats for query, display in QUERIES],
        feed_urls=[FEED_URL],
    )
    storage = await SqliteStorage.open(database)
    try:
        feed = await storage.get_feed_by_url(FEED_URL)
        assert feed is not None
        now = time.time()
        for chat in chats:
            await storage.save_schedule(chat, SCHEDULE, release_held_at=now, now=now)
        for poll in range(sizes.digest_stories):
            story = story_from_entry(
                feed.id,
                f"urn:bench:digest:{poll}",
                f"https://bench.example/d/{poll}",
                f"{TITLE} #{poll}",
                None,
                None,
            )
            query = QUERIES[poll % len(QUERIES)][0]
            await storage.save_poll(
                PollToSave(
                    feed_id=feed.id,
                    url=FEED_URL,
                    title="Bench Wire",
                    etag=None,
                    last_modified=None,
                    next_poll_at=now + 300,
                    now=now,
                    alerts_enabled=True,
                    stories=(StoryToSave(story, analyze(story.title), alertable=True),),
                ),
                matching(query),
            )
        gc.collect()
        with Stopwatch() as hold:
            held, _ = await claim_chats(storage, chats, now, burst_limit=10)
        release = held_until(now, SCHEDULE)
        assert release is not None
        messages = lines = 0
        with Stopwatch() as assemble:
            for chat in chats:
                rows = await storage.pending_digest(chat, release)
                while rows:
                    _, carried = first_digest_message(rows)
                    sent = {row.id for row in carried}
                    rows = [row for row in rows if row.id not in sent]
                    messages += 1
                    lines += len(carried)
    finally:
        await storage.close()
    if held != lines or lines != sizes.digest_chats * sizes.digest_stories:
        raise RuntimeError(f"held {held} lines, assembled {lines}")
    return hold.seconds, assemble.seconds, held, messages


async def run(run: Run) -> list[Figure]:
    """Time holding every chat's stories as digest lines, and assembling every digest."""
    holds: list[float] = []
    assembles: list[float] = []
    held = messages = 0
    for number in range(run.repeat):
        hold, assemble, held, messages = await one_repetition(run, number)
        holds.append(hold)
        assembles.append(assemble)
    chats = run.sizes.digest_chats
    per_chat = [seconds * 1000 / chats for seconds in assembles]
    return [
        Figure(
            SCENARIO,
            f"hold: {chats:,} chats' turns queue {held // chats} stories each as digest lines",
            median(holds),
            "s",
            None,
            f"{held:,} lines due at the next digest time (the chat's schedule read by each "
            "claim, one transaction per chat)",
            tuple(holds),
        ),
        Figure(
            SCENARIO,
            f"assemble {chats:,} digests of {held // chats} held stories",
            median(assembles),
            "s",
            at_most(chats / 300, "s"),
            f"{messages:,} messages: each chat's due lines read, grouped by query and split "
            "within Telegram's limits as the worker does at release; target: faster than "
            "300 msg/s (the paid tier) sends them",
            tuple(assembles),
        ),
        Figure(
            SCENARIO,
            "one chat's digest: read and render its held stories",
            median(per_chat),
            "ms",
            at_most(1000 / 300 * (messages / chats), "ms"),
            "per chat, all its messages; target: one message's share at 300 msg/s",
            tuple(per_chat),
        ),
    ]
