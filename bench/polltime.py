"""Scenario 1, poll-time work: match stories and store what they matched, into real SQLite.

What a poll does for its new stories since fan-out on read: match each against the one index
(distinct queries only, never the subscribers) and store the stories with one match row each,
committed. The stories are saved as FEEDS polls, through the production save_poll, into a
database file on disk; delivery works out who gets what later, when it may send.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Stopwatch
from bench.harness import create_database, populate
from bench.workload import Story
from bot.ingest.stories import story_from_entry
from bot.matching.index import SubscriptionIndex
from bot.storage import PollToSave, StoryToSave
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import plain

FEEDS = 20


def _feed_url(number: int) -> str:
    return f"https://bench.example/polltime/{number}.xml"


def _polls(stories: Sequence[Story], feed_ids: Sequence[int], now: float) -> list[PollToSave]:
    per_feed = -(-len(stories) // len(feed_ids))
    polls = []
    for position, feed_id in enumerate(feed_ids):
        chunk = stories[position * per_feed : (position + 1) * per_feed]
        candidates = []
        for offset, story in enumerate(chunk):
            number = position * per_feed + offset
            parsed = story_from_entry(
                feed_id,
                f"urn:bench:polltime:{number}",
                f"https://bench.example/polltime/story/{number}",
                f"{story.title} #{number}",
                datetime.fromtimestamp(now, UTC),
                None,
            )
            candidates.append(StoryToSave(parsed, plain(story.words), alertable=True))
        polls.append(
            PollToSave(
                feed_id=feed_id,
                url=_feed_url(position),
                title=f"Feed {position}",
                etag=None,
                last_modified=None,
                next_poll_at=now + 300,
                now=now,
                alerts_enabled=True,
                stories=tuple(candidates),
            )
        )
    return polls


async def poll_time(
    directory: Path, index: SubscriptionIndex, stories: Sequence[Story], now: float
) -> tuple[float, int, list[tuple[str, ...]]]:
    """Save the stories as FEEDS polls into a new database; return the seconds the saves
    took (match, persist, commit), the match rows stored and each story's matched queries."""
    database = directory / "polltime.sqlite3"
    await create_database(database)
    urls = [_feed_url(number) for number in range(FEEDS)]
    await asyncio.to_thread(populate, database, feed_urls=urls)
    storage = await SqliteStorage.open(database)
    matched: list[tuple[str, ...]] = []

    def match(candidate: StoryToSave) -> tuple[str, ...]:
        queries = tuple(index.match_queries(candidate.analyzed))
        matched.append(queries)
        return queries

    try:
        feeds = {feed.url: feed.id for feed in await storage.list_feeds()}
        polls = _polls(stories, [feeds[url] for url in urls], now)
        gc.collect()
        stored = 0
        with Stopwatch() as watch:
            for poll in polls:
                stored += (await storage.save_poll(poll, match)).matched
    finally:
        await storage.close()
    return watch.seconds, stored, matched
