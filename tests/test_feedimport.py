"""FeedImporter on real parts: the fetcher, parser workers, SQLite and a local feed server."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ingest.feedimport import CHECKS_AT_ONCE, FeedImporter
from bot.ingest.fetch import Fetcher
from bot.ingest.opml import ImportOutcome, OpmlFeed
from bot.ingest.pool import FeedParserPool
from bot.storage.sqlite import SqliteStorage
from tests.clocks import StoppedClock
from tests.feedserver import FeedServer, make_item, rss

FEEDS = 20


@pytest.fixture
async def importer(tmp_path: Path) -> AsyncIterator[FeedImporter]:
    storage = await SqliteStorage.open(tmp_path / "db.sqlite3")
    # More fetch slots than the importer's own bound, so only that bound can hold it back.
    fetcher = Fetcher(concurrency=FEEDS, url_check=None)
    parsers = FeedParserPool(1)
    try:
        yield FeedImporter(fetcher, parsers, storage, StoppedClock())
    finally:
        parsers.close()
        await fetcher.aclose()
        await storage.close()


async def test_feeds_are_checked_a_few_at_a_time_and_stored_in_the_lists_order(
    importer: FeedImporter,
) -> None:
    with FeedServer() as server:
        paths = [f"/{n}.xml" for n in range(FEEDS)]
        for n, path in enumerate(paths):
            server.set_feed(path, rss([make_item(n)], title=f"Feed {n}"))
            server.hold(path)
        listed = [OpmlFeed(server.url(path), f"Listed {n}") for n, path in enumerate(paths)]
        running = asyncio.create_task(importer.add_all(listed))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while server.max_concurrent < CHECKS_AT_ONCE:
            assert loop.time() < deadline, "the checks never started"
            await asyncio.sleep(0.02)
        # Answer in reverse: the last checked finish first, and still are stored in order.
        for path in reversed(paths):
            server.release(path)
        results = await asyncio.wait_for(running, 30)
        assert server.max_concurrent == CHECKS_AT_ONCE
        assert [r.outcome for r in results] == [ImportOutcome.ADDED] * FEEDS
        stored = await importer.storage.list_feeds()
        assert [(feed.url, feed.title) for feed in stored] == [
            (server.url(path), f"Feed {n}") for n, path in enumerate(paths)
        ]
