"""The poller among instances: each due feed leased to one poller, polled once per interval;
a poller's share bounded by max_in_flight; a dead poller's feeds taken over."""

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.poller import Poller
from bot.ingest.pool import FeedParserPool
from bot.matching.index import SubscriptionIndex
from bot.storage import Feed, Storage
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage
from tests.feedserver import FeedServer, Item, rss
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema

INTERVAL = 60.0
LEASE = 15.0
LIMITS = FetchLimits(connect_timeout=5.0, total_timeout=20.0, max_redirects=3)
WAIT = 30.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def parsers() -> Iterator[FeedParserPool]:
    pool = FeedParserPool(1)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feeds:
        yield feeds


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    client = Fetcher(limits=LIMITS)
    try:
        yield client
    finally:
        await client.aclose()


def poller(
    storage: Storage,
    fetcher: Fetcher,
    parsers: FeedParserPool,
    clock: Clock,
    instance: str,
    max_in_flight: int | None = None,
) -> Poller:
    return Poller(
        storage,
        fetcher,
        parsers,
        SubscriptionIndex(),
        interval=INTERVAL,
        on_matches=lambda: None,
        clock=clock,
        instance=instance,
        lease_seconds=LEASE,
        max_in_flight=max_in_flight,
    )


async def add_feeds(storage: Storage, server: FeedServer, count: int, now: float) -> list[Feed]:
    feeds = []
    for n in range(count):
        path = f"/f{n}.xml"
        server.set_feed(path, rss([Item(title=f"Story {n}", link=f"https://x.example/{n}")]))
        feed, _ = await storage.add_feed(server.url(path), now, trusted=True)
        feeds.append(feed)
    return feeds


async def arrived(event: threading.Event) -> None:
    """Wait (off the loop) for the feed server to receive a held request."""
    assert await asyncio.to_thread(event.wait, WAIT), "the request never came"


async def polled(storage: Storage, feed: Feed) -> None:
    """Wait until the feed's poll is stored."""
    deadline = time.monotonic() + WAIT
    while (stored := await storage.get_feed_by_url(feed.url)) is None or stored.last_ok_at is None:
        assert time.monotonic() < deadline, f"feed {feed.id} was never polled"
        await asyncio.sleep(0.01)


async def test_a_poller_leases_no_more_than_max_in_flight_and_refills_as_polls_end(
    tmp_path: Path, server: FeedServer, fetcher: Fetcher, parsers: FeedParserPool
) -> None:
    storage = await SqliteStorage.open(tmp_path / "db.sqlite3")
    clock = Clock()
    stop = asyncio.Event()
    try:
        a, b, c = await add_feeds(storage, server, 3, clock())
        held = server.hold("/f0.xml")
        running = asyncio.create_task(
            poller(storage, fetcher, parsers, clock, "i1", max_in_flight=1).run(stop)
        )
        await arrived(held)
        # Polling a, its one slot taken: b and c are not its own, another instance may have
        # them (and then gives them back).
        leased = await storage.lease_due_feeds("other", clock(), clock() + LEASE, 10)
        assert [f.id for f in leased] == [b.id, c.id]
        await storage.retire("other")
        server.release("/f0.xml")
        for feed in (a, b, c):
            await polled(storage, feed)
        assert [server.hits(f"/f{n}.xml") for n in range(3)] == [1, 1, 1]
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, timeout=WAIT)
        await storage.close()


@pytest.fixture
async def two_storages() -> AsyncIterator[tuple[Storage, Storage]]:
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as url:
        first = await PostgresStorage.open(url)
        second = await PostgresStorage.open(url)
        try:
            yield first, second
        finally:
            await first.close()
            await second.close()


async def test_two_pollers_on_one_database_fetch_each_feed_once_per_interval(
    two_storages: tuple[Storage, Storage],
    server: FeedServer,
    fetcher: Fetcher,
    parsers: FeedParserPool,
) -> None:
    clock = Clock()
    first, second = two_storages
    feeds = await add_feeds(first, server, 12, clock())
    pollers = [
        poller(first, fetcher, parsers, clock, "a", max_in_flight=4),
        poller(second, fetcher, parsers, clock, "b", max_in_flight=4),
    ]
    for cycle in range(2):
        reports = []
        # Each takes its share (4 at a time) until none is due: 12 feeds, 2 pollers.
        while batch := await asyncio.gather(*(p.poll_due() for p in pollers)):
            if not any(batch):
                break
            reports += [r for polled in batch for r in polled]
        assert sorted(r.feed_id for r in reports) == [f.id for f in feeds], f"cycle {cycle}"
        assert [server.hits(f"/f{n}.xml") for n in range(12)] == [cycle + 1] * 12
        clock.now += INTERVAL


async def test_the_feeds_a_dead_instance_was_polling_are_polled_when_its_leases_end(
    two_storages: tuple[Storage, Storage],
    server: FeedServer,
    fetcher: Fetcher,
    parsers: FeedParserPool,
) -> None:
    clock = Clock()
    first, second = two_storages
    [feed] = await add_feeds(first, server, 1, clock())
    held = server.hold("/f0.xml")
    doomed = asyncio.create_task(poller(first, fetcher, parsers, clock, "a").poll_due())
    await arrived(held)
    survivor = poller(second, fetcher, parsers, clock, "b")
    assert await survivor.poll_due() == [], "leased to a, which is polling it"
    doomed.cancel()  # a dies mid-poll: nothing recorded, its lease stays
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    server.release("/f0.xml")
    clock.now += LEASE - 1
    assert await survivor.poll_due() == [], "a's lease runs on"
    clock.now += 1
    [report] = await survivor.poll_due()
    assert (report.feed_id, report.status) == (feed.id, "ok")
