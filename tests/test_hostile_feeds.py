"""Poll hostile and broken feeds next to a good one: each fails alone, in bounded memory."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import resource
import struct
import time
import urllib.request
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.parse import MAX_ENTRIES
from bot.ingest.poller import Poller, PollReport
from bot.ingest.pool import PARSER_NICENESS, FeedParserPool
from bot.ingest.prepare import prepare_feed
from bot.matching.index import SubscriptionIndex
from bot.matching.query import parse_query
from bot.storage import Feed, OutboxItem, Storage
from bot.storage.sqlite import SqliteStorage
from tests import corpus
from tests.feedserver import FeedServer, Item, rss
from tests.storage_contract.helpers import fan_out, private

log = logging.getLogger(__name__)

KB = 1024
MB = 1024 * KB
GIB = 1024 * MB
# The highest nice value (the lowest priority) a process can have on Linux.
MAX_NICE = 19
LIMITS = FetchLimits(connect_timeout=1.0, total_timeout=2.0, max_bytes=MB, max_redirects=3)
# Far beyond any total timeout here: reaching it means a poll hung.
HANG_LIMIT_SECONDS = 60
INTERVAL = 60.0
USER = 4242
SUBSCRIPTIONS = ("zeppelin", "цеппелин")
GOOD_PATH, HOSTILE_PATH = "/good.xml", "/hostile.xml"
GOOD_TITLE, HOSTILE_TITLE = "Good feed", "Hostile feed"
GOOD_BASE, HOSTILE_BASE = "http://good.example/", "http://hostile.example/"
GOOD_STORY = "Zeppelin lands in Berlin"
RSS_UTF8 = "application/rss+xml; charset=utf-8"
CYRILLIC = "Новости: цеппелин приземлился в Берлине"
PORTUGUESE = "Zeppelin: oposição critica decisão do líder após a prisão"
# Growth of peak RSS allowed during one hostile poll, on top of the 1 MB body cap: a body
# is held a few times over (chunks, joined bytes, the pickle to the parser) plus allocator
# slack. A fetcher that buffered the 50 MB body or inflated the 1 GB bomb would exceed it.
PARENT_GROWTH_LIMIT = 4 * LIMITS.max_bytes + 12 * MB
# The parser worker may build feedparser's dicts for a whole body under the cap.
WORKER_GROWTH_LIMIT = 48 * MB
CORPUS_ILLFORMED = corpus.ILLFORMED


# ---- memory measurement (module level: the parser worker runs these too) ----


def _proc_status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name == key:
                    return int(value.split()[0]) * KB
    except OSError:
        pass
    return None


def _reset_vmhwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            # "5" resets VmHWM, the peak resident set size (Linux >= 4.0).
            clear_refs.write("5")
    except OSError:
        return False
    return True


def reset_peak_rss() -> int:
    """Reset this process's peak RSS to its current RSS (Linux) and return that baseline."""
    if not _reset_vmhwm():
        return peak_rss()
    return _proc_status_bytes("VmRSS") or peak_rss()


def peak_rss() -> int:
    """Return this process's peak RSS in bytes since the last reset (or since it started)."""
    peak = _proc_status_bytes("VmHWM")
    # ru_maxrss is in KB on Linux; it is never reset, so growth measured with it is a floor.
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KB


def allocate_and_measure(size: int) -> int:
    """Return how much the peak RSS grows while this process holds `size` written bytes."""
    base = reset_peak_rss()
    block = b"x" * size
    grown = peak_rss() - base
    del block
    return grown


def peak_is_resettable() -> bool:
    return _reset_vmhwm() and _proc_status_bytes("VmHWM") is not None


# ---- hostile bodies ----


@functools.cache
def gzip_bomb_1gib() -> bytes:
    """Return ~1 MB of valid gzip that inflates to 1 GiB of zeros, built in well under 1 s.

    A 64 MB run of zeros is compressed once and its byte-aligned (full-flushed) deflate
    output repeated; the result stays under the 1 MB cap, so it passes the Content-Length
    check and only a bounded decoder stops it.
    """
    zeros = bytes(MB)
    block_mb = 64
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = b"".join(compressor.compress(zeros) for _ in range(block_mb))
    block += compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(GIB // MB):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, GIB & 0xFFFFFFFF)
    return header + block * (GIB // (block_mb * MB)) + compressor.flush() + trailer


def billion_laughs() -> bytes:
    """Return the classic nested-entity document: ten levels of ten, 10^9 'lol's."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        + "\n".join(entities)
        + ']>\n<rss version="2.0"><channel><title>Laughs &lol9;</title>'
        + "<item><title>Zeppelin laughs &lol9;</title><guid>laughs</guid>"
        + "<description>&lol9;</description></item></channel></rss>"
    ).encode()


def quadratic_blowup() -> bytes:
    """Return one 50 KB entity referenced 20,000 times: a 110 KB body, 1 GB expanded."""
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "' + "A" * 50_000 + '">]>\n'
        '<rss version="2.0"><channel><title>Blowup</title>'
        "<item><title>Zeppelin " + "&a;" * 20_000 + "</title><guid>blowup</guid></item>"
        "</channel></rss>"
    ).encode()


def ten_thousand_items() -> bytes:
    """Return a feed of 10,000 short items; the first and the last mention a zeppelin."""
    titles = [f"Item {n}" for n in range(10_000)]
    titles[0], titles[-1] = "Zeppelin item 0", "Zeppelin item 9999"
    items = "".join(
        f"<item><title>{title}</title><guid>g{n}</guid></item>" for n, title in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{HOSTILE_TITLE}</title><link>{HOSTILE_BASE}</link>{items}</channel></rss>"
    ).encode()


def hostile_item(n: int, title: str, *, pub_date: datetime | None = None) -> Item:
    """Return a complete item with a link under the hostile feed's site."""
    return Item(
        title=title,
        link=f"{HOSTILE_BASE}story/{n}",
        guid=f"urn:hostile:{n}",
        description=f"About {title}",
        pub_date=pub_date or datetime.now(UTC),
    )


def hostile_rss(items: list[Item]) -> str:
    return rss(items, title=HOSTILE_TITLE, link=HOSTILE_BASE)


def oversized_body() -> bytes:
    """Return a 50 MB body that starts like a feed."""
    return b'<?xml version="1.0"?><rss version="2.0"><channel>' + b" " * (50 * MB)


def cut_inside_third_item() -> bytes:
    whole = hostile_rss([hostile_item(n, f"Zeppelin {n}") for n in (1, 2, 3)])
    return whole[: whole.index("<item>", whole.index("Zeppelin 2")) + 20].encode()


def cut_before_any_item() -> bytes:
    whole = hostile_rss([hostile_item(1, "Zeppelin 1")])
    return whole[: whole.index("<item>")].encode()


RECENT = datetime.now(UTC).replace(microsecond=0)
MISSING_FIELDS: list[Item] = [
    Item(
        title="Zeppelin without guid",
        link=f"{HOSTILE_BASE}story/1",
        description="No guid here",
        pub_date=RECENT,
    ),
    Item(title="Zeppelin without link", guid="urn:hostile:2", description="No link here"),
    Item(link=f"{HOSTILE_BASE}story/3", guid="urn:hostile:3", description="Zeppelin, untitled"),
    Item(title="Zeppelin without date", link=f"{HOSTILE_BASE}story/4", guid="urn:hostile:4"),
    Item(description="A zeppelin story with nothing else"),
]
DUPLICATE_GUIDS: list[Item] = [
    Item(title="Zeppelin first copy", guid="urn:hostile:dup", link=f"{HOSTILE_BASE}1"),
    Item(title="Zeppelin second copy", guid="urn:hostile:dup", link=f"{HOSTILE_BASE}2"),
]


# ---- the harness: a real Poller over a good feed and a hostile one ----


@dataclass
class Clock:
    """The poller's clock, moved by hand so every feed is due when a test wants."""

    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    """Storage, a real Poller and a FeedServer serving a good and a hostile feed."""

    server: FeedServer
    storage: Storage
    poller: Poller
    parsers: FeedParserPool
    clock: Clock
    good_id: int
    hostile_id: int
    # A new poller on the same storage: the bot restarted, nothing in memory.
    restart: Callable[[], Poller]
    signals: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What one poll of both feeds did, as a user and an operator would see it."""

    good: PollReport
    hostile: PollReport
    feed: Feed
    good_alerts: list[OutboxItem]
    hostile_alerts: list[OutboxItem]
    good_done: float
    hostile_done: float
    finish_order: tuple[int, ...]
    parent_growth: int
    worker_growth: int


@pytest.fixture(scope="module")
def parsers() -> Iterator[FeedParserPool]:
    pool = FeedParserPool(1)
    try:
        yield pool
    finally:
        pool.close()


def good_item(n: int, title: str) -> Item:
    return Item(
        title=title,
        link=f"{GOOD_BASE}story/{n}",
        guid=f"urn:good:{n}",
        description=f"About {title}",
        pub_date=datetime.now(UTC).replace(microsecond=0),
    )


@pytest.fixture
async def harness(tmp_path: Path, parsers: FeedParserPool) -> AsyncIterator[Harness]:
    clock = Clock(time.time())
    storage = await SqliteStorage.open(tmp_path / "newshound.sqlite3")
    fetcher = Fetcher(limits=LIMITS, url_check=None)
    try:
        with FeedServer() as server:
            index = SubscriptionIndex()
            await storage.register_chat(private(USER, "Reader", "reader"), clock.now)
            queries = [(parse_query(text).normalised, text) for text in SUBSCRIPTIONS]
            await storage.add_subscriptions(USER, queries, 10, clock.now)
            index.add_many((USER, normalised, display) for normalised, display in queries)
            good, _ = await storage.add_feed(server.url(GOOD_PATH), clock.now, trusted=False)
            hostile, _ = await storage.add_feed(server.url(HOSTILE_PATH), clock.now, trusted=False)
            signals: list[float] = []

            def new_poller() -> Poller:
                return Poller(
                    storage,
                    fetcher,
                    parsers,
                    index,
                    interval=INTERVAL,
                    on_matches=lambda: signals.append(time.monotonic()),
                    clock=clock,
                )

            built = Harness(
                server,
                storage,
                new_poller(),
                parsers,
                clock,
                good.id,
                hostile.id,
                new_poller,
                signals,
            )
            await prime(built)
            yield built
    finally:
        await fetcher.aclose()
        await storage.close()


async def prime(harness: Harness) -> None:
    """Poll both feeds once while they behave, so their next new items alert."""
    harness.server.set_feed(
        GOOD_PATH, rss([good_item(1, "Airship news")], title=GOOD_TITLE, link=GOOD_BASE)
    )
    harness.server.set_feed(HOSTILE_PATH, hostile_rss([hostile_item(0, "Quiet start")]))
    reports = await harness.poller.poll_due()
    assert sorted((r.feed_id, r.status, r.new_stories) for r in reports) == [
        (harness.good_id, "ok", 1),
        (harness.hostile_id, "ok", 1),
    ]


async def _timed(task: asyncio.Task[PollReport], order: list[int]) -> tuple[PollReport, float]:
    report = await task
    order.append(report.feed_id)
    return report, time.monotonic()


async def poll_both(harness: Harness) -> Outcome:
    """Poll every due feed concurrently, timing each and measuring peak memory."""
    harness.clock.now += 3600
    parent_base = reset_peak_rss()
    worker_base = await harness.parsers.run(reset_peak_rss)
    tasks = await harness.poller.start_due_polls()
    order: list[int] = []
    # A safety net, not a measurement: a poll ignoring its total timeout would hang here.
    finished = await asyncio.wait_for(
        asyncio.gather(*(_timed(task, order) for task in tasks)), HANG_LIMIT_SECONDS
    )
    parent_growth = peak_rss() - parent_base
    worker_growth = await harness.parsers.run(peak_rss) - worker_base
    by_feed = {report.feed_id: (report, done) for report, done in finished}
    good, good_done = by_feed[harness.good_id]
    hostile, hostile_done = by_feed[harness.hostile_id]
    feeds = {feed.id: feed for feed in await harness.storage.list_feeds()}
    await fan_out(harness.storage, harness.clock.now)  # delivery's claims: the outbox rows
    pending = await harness.storage.pending_outbox()
    alerts = await harness.storage.load_outbox([row.id for row in pending])
    return Outcome(
        good=good,
        hostile=hostile,
        feed=feeds[harness.hostile_id],
        good_alerts=[alert for alert in alerts if alert.source == GOOD_TITLE],
        hostile_alerts=[alert for alert in alerts if alert.source != GOOD_TITLE],
        good_done=good_done,
        hostile_done=hostile_done,
        finish_order=tuple(order),
        parent_growth=parent_growth,
        worker_growth=worker_growth,
    )


@pytest.mark.skipif(not peak_is_resettable(), reason="peak RSS cannot be reset here")
async def test_memory_instrument_sees_a_large_allocation(parsers: FeedParserPool) -> None:
    """Guard the memory checks below: a 64 MB buffer must show, in the bot and the worker."""
    size = 64 * MB

    assert allocate_and_measure(size) >= size * 0.9
    assert await parsers.run(allocate_and_measure, size) >= size * 0.9


async def test_parser_workers_give_way_to_the_bot_on_a_busy_cpu(parsers: FeedParserPool) -> None:
    """A worker runs PARSER_NICENESS below the bot's priority (nice caps at 19)."""
    bots = os.getpriority(os.PRIO_PROCESS, 0)

    workers = await parsers.run(os.getpriority, os.PRIO_PROCESS, 0)

    assert workers == min(MAX_NICE, bots + PARSER_NICENESS)


# ---- the hostile cases ----

Serve = Callable[[FeedServer], None]


def body(data: bytes | str, content_type: str = RSS_UTF8) -> Serve:
    """Serve data as the hostile feed, with no validators (so never a 304)."""

    def serve(server: FeedServer) -> None:
        server.set_feed(
            HOSTILE_PATH, data, content_type=content_type, etag=None, last_modified=None
        )

    return serve


@dataclass(frozen=True)
class Case:
    """A hostile feed and what its poll must leave behind.

    With `error`, the poll fails and stores exactly that reason (or one starting with
    `error_prefix`); otherwise it succeeds and `alerts` lists the titles that alert.
    """

    serve: Serve
    error: str | None = None
    error_prefix: str | None = None
    alerts: tuple[str, ...] | None = None
    new_stories: int | None = None
    check: Callable[[Outcome], None] | None = None
    slow: bool = False
    repoll_is_quiet: bool = False


def check_missing_fields(outcome: Outcome) -> None:
    no_guid, no_link, no_title, no_date, bare = outcome.hostile_alerts
    assert no_guid.link == f"{HOSTILE_BASE}story/1"
    assert no_guid.published == RECENT
    assert no_link.link is None
    # No title: stored empty (formatting shows "(no title)"), the text carries the story.
    assert no_title.title == ""
    assert no_title.summary is not None and "Zeppelin, untitled" in no_title.summary
    assert no_title.link == f"{HOSTILE_BASE}story/3"
    assert no_date.published is None
    assert (bare.title, bare.link, bare.published) == ("", None, None)
    assert bare.summary is not None and "nothing else" in bare.summary


FUTURE = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)


def check_future_date(outcome: Outcome) -> None:
    (alert,) = outcome.hostile_alerts
    assert alert.published == FUTURE


def check_not_expanded(document: bytes, expansion: str) -> Callable[[Outcome], None]:
    """Check that no entity was expanded: a clear error, or stories no longer than the body."""

    def check(outcome: Outcome) -> None:
        if outcome.hostile.status == "error":
            assert outcome.feed.last_error
            return
        for alert in outcome.hostile_alerts:
            text = alert.title + (alert.summary or "")
            assert len(text) <= len(document)
            assert expansion not in text

    return check


def check_capped(outcome: Outcome) -> None:
    # One story for the prime item, then the first MAX_ENTRIES items of the 10,000.
    assert outcome.feed.entries_seen == 1 + MAX_ENTRIES


CASES = {
    "oversize-with-content-length": Case(
        lambda s: s.set_fault(HOSTILE_PATH, status=200, body=oversized_body()),
        error="response larger than 1 MB",
    ),
    "oversize-without-content-length": Case(
        lambda s: s.set_fault(
            HOSTILE_PATH, status=200, body=oversized_body(), omit_content_length=True
        ),
        error="response larger than 1 MB",
    ),
    "gzip-bomb": Case(
        lambda s: s.set_fault(
            HOSTILE_PATH,
            status=200,
            body=gzip_bomb_1gib(),
            headers={"Content-Encoding": "gzip"},
        ),
        error="response larger than 1 MB",
    ),
    "gzip-bomb-without-content-length": Case(
        lambda s: s.set_fault(
            HOSTILE_PATH,
            status=200,
            body=gzip_bomb_1gib(),
            headers={"Content-Encoding": "gzip"},
            omit_content_length=True,
        ),
        error="response larger than 1 MB",
    ),
    "drip-one-byte-per-second": Case(
        lambda s: s.set_fault(
            HOSTILE_PATH,
            status=200,
            body=hostile_rss([hostile_item(1, "Zeppelin, slowly")]),
            drip_bytes_per_second=1,
        ),
        error="timed out after 2 s",
        slow=True,
    ),
    "redirect-loop": Case(
        lambda s: s.set_fault(HOSTILE_PATH, redirect_to=HOSTILE_PATH, status=301),
        error="too many redirects",
    ),
    "redirect-to-file-scheme": Case(
        lambda s: s.set_fault(HOSTILE_PATH, redirect_to="file:///etc/passwd", status=302),
        error="redirect to unsupported scheme file",
    ),
    "html-page": Case(
        body(
            "<!DOCTYPE html><html><head><title>Zeppelin news</title></head>"
            "<body><p>Zeppelin</p></body></html>",
            "text/html; charset=utf-8",
        ),
        error="not a feed (looks like HTML)",
    ),
    "json-document": Case(
        body('{"items": [{"title": "Zeppelin"}]}', "application/json"),
        error="not a feed (looks like JSON)",
    ),
    "empty-body": Case(body(b""), error="empty document"),
    "truncated-transfer": Case(
        lambda s: s.set_fault(HOSTILE_PATH, status=200, truncate_at=100),
        error_prefix="connection failed: peer closed connection",
    ),
    "truncated-document-before-items": Case(
        body(cut_before_any_item()),
        error_prefix="malformed feed, no entries: XML error at line",
    ),
    "truncated-document-keeps-whole-items": Case(
        body(cut_inside_third_item()), alerts=("Zeppelin 1", "Zeppelin 2")
    ),
    "cp1251-declared-cp1251": Case(
        body(
            hostile_rss([hostile_item(1, CYRILLIC)])
            .replace('encoding="utf-8"', 'encoding="windows-1251"')
            .encode("windows-1251"),
            "application/rss+xml; charset=windows-1251",
        ),
        alerts=(CYRILLIC,),
    ),
    "cp1251-declared-utf8": Case(
        body(hostile_rss([hostile_item(1, CYRILLIC)]).encode("windows-1251")),
        alerts=(CYRILLIC,),
    ),
    "utf8-declared-cp1251": Case(
        body(
            hostile_rss([hostile_item(1, CYRILLIC)])
            .replace('encoding="utf-8"', 'encoding="windows-1251"')
            .encode("utf-8"),
            "application/rss+xml; charset=windows-1251",
        ),
        alerts=(CYRILLIC,),
    ),
    "cp1251-undeclared": Case(
        body(
            hostile_rss([hostile_item(1, CYRILLIC)])
            .replace(' encoding="utf-8"', "")
            .encode("windows-1251"),
            "application/rss+xml",
        ),
        alerts=(CYRILLIC,),
    ),
    "utf8-undeclared": Case(
        body(
            hostile_rss([hostile_item(1, CYRILLIC)]).replace(' encoding="utf-8"', ""),
            "application/rss+xml",
        ),
        alerts=(CYRILLIC,),
    ),
    "latin1-undeclared": Case(
        body(
            hostile_rss([hostile_item(1, PORTUGUESE)])
            .replace(' encoding="utf-8"', "")
            .encode("iso8859-1"),
            "application/rss+xml",
        ),
        alerts=(PORTUGUESE,),
    ),
    "billion-laughs": Case(
        body(billion_laughs()), check=check_not_expanded(billion_laughs(), "lollollol")
    ),
    "quadratic-blowup": Case(
        body(quadratic_blowup()), check=check_not_expanded(quadratic_blowup(), "A" * 100)
    ),
    "ten-thousand-items": Case(
        body(ten_thousand_items()),
        alerts=("Zeppelin item 0",),
        new_stories=MAX_ENTRIES,
        check=check_capped,
    ),
    "items-missing-fields": Case(
        body(hostile_rss(MISSING_FIELDS)),
        alerts=(
            "Zeppelin without guid",
            "Zeppelin without link",
            "",
            "Zeppelin without date",
            "",
        ),
        check=check_missing_fields,
        repoll_is_quiet=True,
    ),
    "duplicate-guids": Case(
        body(hostile_rss(DUPLICATE_GUIDS)),
        alerts=("Zeppelin first copy",),
        new_stories=1,
        repoll_is_quiet=True,
    ),
    "future-date": Case(
        body(hostile_rss([hostile_item(1, "Zeppelin from the future", pub_date=FUTURE)])),
        alerts=("Zeppelin from the future",),
        check=check_future_date,
        repoll_is_quiet=True,
    ),
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=name) for name, case in CASES.items()],
)
async def test_hostile_feed_fails_alone(
    harness: Harness, case: Case, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    harness.server.set_feed(
        GOOD_PATH,
        rss(
            [good_item(2, GOOD_STORY), good_item(1, "Airship news")],
            title=GOOD_TITLE,
            link=GOOD_BASE,
        ),
    )
    case.serve(harness.server)

    outcome = await poll_both(harness)

    hostile_seconds = outcome.hostile_done - started
    # Figures for the record: pytest -o log_cli=true --log-cli-level=INFO shows them.
    log.info(
        "%s: hostile poll %.2f s, peak RSS growth %.1f MB (bot) and %.1f MB (parser)",
        request.node.callspec.id,
        hostile_seconds,
        outcome.parent_growth / MB,
        outcome.worker_growth / MB,
    )
    # The good feed's new story reached its subscriber whatever the hostile feed did.
    assert (outcome.good.status, outcome.good.new_stories, outcome.good.matched) == ("ok", 1, 1)
    assert [(a.title, a.chat_id, a.matched) for a in outcome.good_alerts] == [
        (GOOD_STORY, USER, ("zeppelin",))
    ]
    assert harness.signals
    # Memory stayed near the cap and nothing hung.
    assert outcome.parent_growth <= PARENT_GROWTH_LIMIT
    assert outcome.worker_growth <= WORKER_GROWTH_LIMIT
    if case.slow:
        assert outcome.finish_order == (harness.good_id, harness.hostile_id), (
            "the good feed did not wait for the slow one"
        )
        assert hostile_seconds >= LIMITS.total_timeout, "a lower bound: load only adds to it"
    if case.error is not None or case.error_prefix is not None:
        assert_failed(outcome, case)
    else:
        assert_stored(outcome, case)
    if case.check is not None:
        case.check(outcome)
    if case.repoll_is_quiet:
        await assert_repoll_is_quiet(harness)


def assert_failed(outcome: Outcome, case: Case) -> None:
    feed = outcome.feed
    assert outcome.hostile.status == "error"
    assert feed.last_error == outcome.hostile.error
    if case.error is not None:
        assert feed.last_error == case.error
    else:
        assert case.error_prefix is not None
        assert feed.last_error is not None and feed.last_error.startswith(case.error_prefix)
    assert feed.failures == 1
    assert feed.entries_seen == 1
    assert outcome.hostile_alerts == []


def assert_stored(outcome: Outcome, case: Case) -> None:
    feed = outcome.feed
    assert (outcome.hostile.status, outcome.hostile.error) == ("ok", None)
    assert (feed.failures, feed.last_error) == (0, None)
    if case.new_stories is not None:
        assert outcome.hostile.new_stories == case.new_stories
    if case.alerts is not None:
        assert [alert.title for alert in outcome.hostile_alerts] == list(case.alerts)
        assert outcome.hostile.matched == len(case.alerts)


async def assert_repoll_is_quiet(harness: Harness) -> None:
    """Polling the same content again finds nothing new: the stories' identities are stable.

    The same body is recognised and not parsed at all; after a restart, the same items in a
    body changed outside them are parsed in full, and found known."""
    harness.clock.now += 3600
    reports = {report.feed_id: report for report in await harness.poller.poll_due()}
    assert reports[harness.hostile_id].status == "unchanged"
    url = harness.server.url(HOSTILE_PATH)
    served = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
    body(served + b"\n")(harness.server)
    harness.poller = harness.restart()
    harness.clock.now += 3600
    reports = {report.feed_id: report for report in await harness.poller.poll_due()}
    assert reports[harness.hostile_id].status == "ok"
    assert reports[harness.hostile_id].parsed_entries > 0, "parsed in full"
    assert reports[harness.hostile_id].new_stories == 0


# ---- the ill-formed corpus ----


FEED_ROOTS = frozenset({"rss", "feed", "RDF"})
ENTRY_TAGS = frozenset({"item", "entry"})
NOW = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def is_wellformed_empty_feed(data: bytes) -> bool:
    """Tell whether data is well-formed XML with a feed root element and no item or entry.

    In the corpus these are fp-utf8-bom.xml and fp-utf16le-bom.xml (a bare <rss/>),
    fp-high-bit-greek-date.xml, fp-xhtml-doctype-before-rss.xml and
    miniflux-utf8-declared-cp1252.xml (a channel with a title or date and no items): a
    feed with nothing in it yet is not an error. fp-bogus-encoding-name.xml is a bare
    <rss/> too, but declares an encoding that does not exist, so it is not well-formed.
    """
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError):
        return False
    return _local_name(root.tag) in FEED_ROOTS and not any(
        _local_name(element.tag) in ENTRY_TAGS for element in root.iter()
    )


def illformed_files() -> list[Path]:
    return sorted(CORPUS_ILLFORMED.iterdir()) if CORPUS_ILLFORMED.is_dir() else []


CLEAR_ERRORS = ("empty document", "not a feed (", "malformed feed, no ")


@pytest.mark.skipif(not CORPUS_ILLFORMED.is_dir(), reason="ill-formed feed corpus not present")
@pytest.mark.parametrize("path", illformed_files(), ids=lambda path: path.name)
def test_illformed_corpus_prepares_or_explains(path: Path) -> None:
    data = path.read_bytes()

    prepared = prepare_feed(1, data, {}, "http://example.com/feed.xml", NOW)

    if prepared.stories:
        assert prepared.error is None
        assert all(story.story.key for story in prepared.stories)
    elif is_wellformed_empty_feed(data):
        assert prepared.error is None
    else:
        assert prepared.error is not None
        assert prepared.error.startswith(CLEAR_ERRORS), prepared.error
