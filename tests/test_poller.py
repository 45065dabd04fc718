"""The poller: scheduling maths, feed preparation, and whole polls against a local server."""

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest

from bot.delivery.burst import BURST_WINDOW_SECONDS
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.parse import parse_feed
from bot.ingest.poll_schedule import MAX_BACKOFF_SECONDS, MAX_SERVER_DELAY_SECONDS, next_poll_at
from bot.ingest.poller import STORAGE_RETRY_SECONDS, Poller, PollReport
from bot.ingest.pool import FeedParserPool
from bot.ingest.prepare import PreparedFeed, prepare_feed
from bot.matching.index import SubscriptionIndex
from bot.matching.query import parse_query
from bot.storage import (
    ChatStatus,
    Feed,
)
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import analyze
from bot.text.normalize import html_to_paragraphs
from tests import corpus
from tests.feedserver import FeedServer, Item, rss
from tests.full_disk import full_disk
from tests.storage_contract.helpers import fan_out, private

_P = ParamSpec("_P")
_T = TypeVar("_T")

HOUR = 3600.0
INTERVAL = 60.0
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RSS_HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
CORPUS = corpus.REAL
FEED_URL = "https://news.example/feed.xml"
# Small limits keep failure tests fast; a local server answers in milliseconds.
LIMITS = FetchLimits(connect_timeout=1.0, total_timeout=2.0, max_redirects=3)
ANN = 5001  # active, subscribed to Ukraine
BOB = 5002  # paused, subscribed to Ukraine
CAROL = 5003  # active, subscribed to football
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


# ---- next_poll_at ----


@pytest.mark.parametrize(
    ("kwargs", "delay"),
    [
        ({}, INTERVAL),
        ({"failures": 1}, INTERVAL),
        ({"failures": 2}, 2 * INTERVAL),
        ({"failures": 3}, 4 * INTERVAL),
        ({"failures": 5}, 16 * INTERVAL),
        ({"failures": 12}, MAX_BACKOFF_SECONDS),
        ({"failures": 60}, MAX_BACKOFF_SECONDS),
        ({"retry_after": 1800.0}, 1800.0),
        ({"retry_after": 5.0}, INTERVAL),
        ({"retry_after": 0.0}, INTERVAL),
        ({"retry_after": 10 * 24 * HOUR}, MAX_SERVER_DELAY_SECONDS),
        ({"max_age": 900.0}, 900.0),
        ({"max_age": 30.0}, INTERVAL),
        ({"max_age": 30 * 24 * HOUR}, MAX_SERVER_DELAY_SECONDS),
        ({"ttl_minutes": 30}, 1800.0),
        ({"ttl_minutes": 10_000}, MAX_SERVER_DELAY_SECONDS),
        ({"max_age": 900.0, "ttl_minutes": 60, "retry_after": 120.0}, HOUR),
        ({"failures": 3, "retry_after": 120.0}, 4 * INTERVAL),
        ({"failures": 3, "retry_after": 1800.0}, 1800.0),
        ({"failures": 60, "retry_after": 10 * 24 * HOUR}, MAX_BACKOFF_SECONDS),
    ],
    ids=[
        "success: the interval",
        "first failure: the interval",
        "second failure: doubled",
        "third failure: doubled again",
        "fifth failure",
        "many failures: capped at 6 h",
        "very many failures: still capped",
        "Retry-After longer than the interval",
        "Retry-After shorter than the interval",
        "Retry-After zero",
        "Retry-After of days: capped",
        "max-age longer than the interval",
        "max-age shorter than the interval",
        "max-age of a month: capped",
        "ttl longer than the interval",
        "ttl of a week: capped",
        "the longest server hint wins",
        "backoff longer than Retry-After",
        "Retry-After longer than backoff",
        "everything huge: capped",
    ],
)
def test_next_poll_at(kwargs: dict[str, float], delay: float) -> None:
    now = 1_700_000_000.0
    assert next_poll_at(now, INTERVAL, **kwargs) == pytest.approx(now + delay)  # type: ignore[arg-type]


def test_backoff_is_capped_at_six_hours() -> None:
    assert MAX_BACKOFF_SECONDS == 6 * HOUR
    assert MAX_SERVER_DELAY_SECONDS == 6 * HOUR


def test_backoff_of_a_long_dead_feed_stays_capped() -> None:
    assert next_poll_at(0.0, 300.0, failures=2_000) == MAX_BACKOFF_SECONDS


# ---- prepare_feed ----


def item(
    n: int,
    *,
    title: str | None = None,
    guid: str | None = "default",
    link: str | None = "default",
    description: str | None = None,
    published: datetime | None = NOW,
) -> Item:
    """An RSS item; pass None to leave a field out."""
    entry = Item(title=title if title is not None else f"Story {n}")
    if guid is not None:
        entry["guid"] = f"urn:test:{n}" if guid == "default" else guid
    if link is not None:
        entry["link"] = f"https://news.example/story/{n}" if link == "default" else link
    entry["description"] = description if description is not None else f"Summary of story {n}."
    if published is not None:
        entry["pub_date"] = published
    return entry


def prepare(*items: Item, now: datetime = NOW, ttl: int | None = None) -> PreparedFeed:
    body = rss(list(items), title="World Desk", ttl=ttl).encode()
    return prepare_feed(7, body, RSS_HEADERS, "https://news.example/feed.xml", now.timestamp())


def test_prepared_feed_carries_title_ttl_and_one_story_per_entry() -> None:
    prepared = prepare(item(1), item(2), ttl=45)
    assert prepared.error is None
    assert prepared.title == "World Desk"
    assert prepared.ttl_minutes == 45
    assert [s.story.title for s in prepared.stories] == ["Story 1", "Story 2"]
    first = prepared.stories[0].story
    assert first.feed_id == 7
    assert first.link == "https://news.example/story/1"
    assert first.summary == "Summary of story 1."
    assert first.published == NOW


def test_duplicate_guids_within_a_feed_give_one_story() -> None:
    prepared = prepare(
        item(1, title="First telling", guid="urn:same"),
        item(2, title="Second telling", guid="urn:same"),
        item(3),
    )
    assert [s.story.title for s in prepared.stories] == ["First telling", "Story 3"]


@pytest.mark.parametrize(
    ("published", "alertable"),
    [
        (NOW - timedelta(hours=25), False),
        (NOW - timedelta(days=400), False),
        (NOW - timedelta(hours=23), True),
        (NOW - timedelta(minutes=5), True),
        (NOW + timedelta(hours=3), True),
        (None, True),
    ],
    ids=["25 h old", "a year old", "23 h old", "just now", "dated in the future", "undated"],
)
def test_only_recent_entries_may_alert(published: datetime | None, alertable: bool) -> None:
    [prepared] = prepare(item(1, published=published)).stories
    assert prepared.alertable is alertable


def key_of(entry: Item) -> str:
    [prepared] = prepare(entry).stories
    return prepared.story.key


def test_identity_is_the_guid_when_there_is_one() -> None:
    original = key_of(item(1, guid="urn:a", link="https://news.example/a"))
    moved = key_of(item(2, guid="urn:a", link="https://news.example/moved", title="Retitled"))
    other = key_of(item(1, guid="urn:b", link="https://news.example/a"))
    assert original == moved
    assert original != other


def test_identity_falls_back_to_the_link_without_a_guid() -> None:
    original = key_of(item(1, guid=None, link="https://news.example/a"))
    retitled = key_of(item(1, guid=None, link="https://news.example/a", title="Update"))
    tracked = key_of(item(1, guid=None, link="https://news.example/a?utm_source=rss"))
    other = key_of(item(1, guid=None, link="https://news.example/b"))
    assert original == retitled == tracked
    assert original != other


def test_identity_falls_back_to_title_and_date_without_guid_or_link() -> None:
    original = key_of(item(1, guid=None, link=None))
    again = key_of(item(1, guid=None, link=None, description="Edited summary."))
    retitled = key_of(item(1, guid=None, link=None, title="Another story"))
    redated = key_of(item(1, guid=None, link=None, published=NOW - timedelta(hours=1)))
    assert original == again
    assert len({original, retitled, redated}) == 3


def test_words_include_the_title_and_the_body_text() -> None:
    body = "<p>Ministers met in <b>Brussels</b> on Tuesday.</p><p>Kyiv &amp; NATO</p>"
    [prepared] = prepare(item(1, title="Ukraine’s talks resume", description=body)).stories
    words = set(prepared.analyzed.words)
    assert {"ukraine", "talks", "resume"} <= words
    assert {"ministers", "brussels", "tuesday", "kyiv", "nato"} <= words
    assert not {"p", "b", "amp"} & words, "markup is not text"
    assert prepared.story.summary is not None
    assert "<" not in prepared.story.summary


def test_entries_with_nothing_to_show_are_skipped() -> None:
    empty = Item(guid="urn:test:empty")
    prepared = prepare(empty, item(2))
    assert [s.story.title for s in prepared.stories] == ["Story 2"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b"\x00\x01\x02 garbage \xff", "not a feed"),
        (b"<!doctype html><html><body><p>Not here</p></body></html>", "HTML"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": []}', "JSON"),
        (b'<?xml version="1.0"?>\n<rss version="2.0"><chan', "malformed"),
    ],
    ids=["empty", "blank", "binary garbage", "an HTML page", "JSON", "cut in the header"],
)
def test_garbage_gives_an_error_and_no_stories(body: bytes, error: str) -> None:
    prepared = prepare_feed(7, body, RSS_HEADERS, FEED_URL, NOW.timestamp())
    assert prepared.error is not None
    assert error.lower() in prepared.error.lower()
    assert prepared.stories == ()


def _three_items() -> bytes:
    return rss([item(1), item(2), item(3)], title="World Desk").encode()


def test_a_body_cut_inside_the_first_entry_is_an_error() -> None:
    body = _three_items()
    cut = body.index(b"</title>", body.index(b"<item>")) + len(b"</title>")
    prepared = prepare_feed(7, body[:cut], RSS_HEADERS, FEED_URL, NOW.timestamp())
    assert prepared.error is not None


def test_a_body_cut_inside_a_later_entry_keeps_only_whole_entries() -> None:
    body = _three_items()
    third = body.index(b"<item>", body.index(b"<item>", body.index(b"<item>") + 1) + 1)
    cut = body.index(b"</title>", third) + len(b"</title>")
    prepared = prepare_feed(7, body[:cut], RSS_HEADERS, FEED_URL, NOW.timestamp())
    assert all(s.story.link for s in prepared.stories), [s.story for s in prepared.stories]


def corpus_files() -> list[Path]:
    return sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_files(), reason="feed corpus not present")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_real_feeds_give_clean_stories(path: Path) -> None:
    body = path.read_bytes()
    now = time.time()
    prepared = prepare_feed(7, body, {}, FEED_URL, now)
    entries = parse_feed(body, {}, url=FEED_URL).entries
    assert prepared.error is None
    assert prepared.stories
    assert len(prepared.stories) <= len(entries)
    assert len({s.story.key for s in prepared.stories}) == len(prepared.stories)
    for prepared_story in prepared.stories:
        story = prepared_story.story
        assert story.title or story.link
        assert story.title == story.title.strip()
        assert "\n" not in story.title
        assert not HTML_TAG.search(story.title), story.title
        if story.summary is not None:
            assert story.summary.strip()
            assert not HTML_TAG.search(story.summary), story.summary
        assert set(analyze(story.title).words) <= set(prepared_story.analyzed.words)
    if all(entry.title for entry in entries):
        assert all(s.story.title for s in prepared.stories)
    if all(entry.link for entry in entries):
        assert all(s.story.link for s in prepared.stories)
        assert all(s.story.canonical_link for s in prepared.stories)


@pytest.mark.skipif(not corpus_files(), reason="feed corpus not present")
def test_real_feed_bodies_reach_the_words() -> None:
    path = CORPUS / "bbc-rss-2.xml"
    if not path.exists():
        pytest.skip("bbc-rss-2.xml not in the corpus")
    body = path.read_bytes()
    prepared = prepare_feed(7, body, {}, FEED_URL, time.time())
    entries = {e.title: e for e in parse_feed(body, {}, url=FEED_URL).entries}
    checked = 0
    for prepared_story in prepared.stories:
        entry = entries.get(prepared_story.story.title)
        if entry is None or not entry.bodies:
            continue
        text = " ".join(html_to_paragraphs(max(entry.bodies, key=len)))
        assert set(analyze(text).words) <= set(prepared_story.analyzed.words)
        checked += 1
    assert checked > 0


# ---- Poller against a local feed server ----


class Clock:
    """A clock the test moves by hand; starts at the real time so fresh items are fresh."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingPool(FeedParserPool):
    """A real one-worker parser pool that counts the jobs it is given."""

    def __init__(self) -> None:
        super().__init__(1)
        self.runs = 0

    async def run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        self.runs += 1
        return await super().run(function, *args, **kwargs)


def counting_parsers() -> Iterator[CountingPool]:
    """One parser pool per test module (its worker process is slow to start), closed after."""
    pool = CountingPool()
    try:
        yield pool
    finally:
        pool.close()


parsers = pytest.fixture(scope="module", name="parsers")(counting_parsers)


@dataclass
class Harness:
    """A feed server, a database with three users, and a poller on a hand-moved clock."""

    server: FeedServer
    storage: SqliteStorage
    parsers: CountingPool
    poller: Poller
    clock: Clock
    path: Path
    signals: list[float] = field(default_factory=list)
    items: dict[str, list[Item]] = field(default_factory=dict)

    def fresh(self, n: int, title: str, **kwargs: str) -> Item:
        """An item published just now (by the poller's clock)."""
        return Item(
            title=title,
            link=kwargs.get("link", f"https://news.example/story/{n}"),
            guid=kwargs.get("guid", f"urn:test:{n}"),
            description=f"<p>{title}. More details follow.</p>",
            pub_date=datetime.fromtimestamp(self.clock(), UTC),
        )

    def publish(self, path: str, *new_items: Item, title: str = "World Desk") -> None:
        self.items.setdefault(path, [])[:0] = list(new_items)
        self.server.set_feed(path, rss(self.items[path], title=title))

    async def add(self, path: str) -> Feed:
        feed, _ = await self.storage.add_feed(self.server.url(path), self.clock(), trusted=True)
        return feed

    async def feed(self, feed_id: int) -> Feed:
        [feed] = [f for f in await self.storage.list_feeds() if f.id == feed_id]
        return feed

    async def poll(self) -> dict[int, PollReport]:
        """Poll every due feed, then fan the matches out as the delivery worker would."""
        reports = {report.feed_id: report for report in await self.poller.poll_due()}
        await fan_out(self.storage, self.clock())
        return reports

    async def poll_after(self, seconds: float = INTERVAL) -> dict[int, PollReport]:
        self.clock.advance(seconds)
        return await self.poll()

    def outbox(self) -> list[tuple[int, str, str]]:
        """(user, kind, story title) of every outbox row, oldest first."""
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            rows = db.execute(
                """SELECT o.chat_id, o.kind, s.title FROM outbox o
                   JOIN stories s ON s.id = o.story_id ORDER BY o.id"""
            )
            return [(int(user), str(kind), str(title)) for user, kind, title in rows]

    def alert_links(self) -> list[tuple[int, str | None]]:
        """(user, story link) of every outbox row, oldest first."""
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            rows = db.execute(
                "SELECT o.chat_id, s.link FROM outbox o JOIN stories s ON s.id = o.story_id"
                " ORDER BY o.id"
            )
            return [(int(user), link) for user, link in rows]

    def story_count(self) -> int:
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            return int(db.execute("SELECT count(*) FROM stories").fetchone()[0])


@contextlib.asynccontextmanager
async def harness_for(
    tmp_path: Path, parsers: CountingPool, limits: FetchLimits = LIMITS
) -> AsyncIterator[Harness]:
    path = tmp_path / "newshound.sqlite3"
    storage = await SqliteStorage.open(path)
    fetcher = Fetcher(limits=limits)
    clock = Clock()
    index = SubscriptionIndex()
    for user_id, text in ((ANN, "Ukraine"), (BOB, "Ukraine"), (CAROL, "football")):
        await storage.register_chat(private(user_id), now=clock())
        query = parse_query(text)
        await storage.add_subscriptions(user_id, [(query.normalised, text)], limit=10, now=clock())
        index.add(user_id, query.normalised, text)
    await storage.set_chat_status(BOB, ChatStatus.PAUSED, now=clock())
    signals: list[float] = []
    poller = Poller(
        storage,
        fetcher,
        parsers,
        index,
        interval=INTERVAL,
        on_matches=lambda: signals.append(clock()),
        clock=clock,
    )
    try:
        with FeedServer() as server:
            yield Harness(server, storage, parsers, poller, clock, path, signals)
    finally:
        await fetcher.aclose()
        await storage.close()


@pytest.fixture
async def h(tmp_path: Path, parsers: CountingPool) -> AsyncIterator[Harness]:
    async with harness_for(tmp_path, parsers) as harness:
        yield harness


async def test_first_poll_of_a_new_feed_records_entries_without_alerts(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(1, "Ukraine talks resume"), h.fresh(2, "Football final"))
    feed = await h.add("/world.xml")
    assert not feed.primed

    reports = await h.poll()

    assert reports[feed.id].status == "ok"
    assert reports[feed.id].new_stories == 2
    assert reports[feed.id].matched == 0
    assert h.outbox() == []
    assert h.signals == []
    stored = await h.feed(feed.id)
    assert stored.primed
    assert stored.title == "World Desk"
    assert stored.entries_seen == 2
    assert stored.etag is not None
    assert stored.next_poll_at == pytest.approx(h.clock() + INTERVAL)
    assert await h.poll() == {}, "not due again before the interval"


async def test_a_new_matching_item_alerts_each_active_matching_user_once(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(1, "Primer"))
    feed = await h.add("/world.xml")
    await h.poll()

    stale = h.fresh(3, "Ukraine archive piece")
    stale["pub_date"] = datetime.fromtimestamp(h.clock() - 3 * 24 * HOUR, UTC)
    h.publish("/world.xml", h.fresh(2, "Ukraine talks resume"), stale, h.fresh(4, "Weather"))
    reports = await h.poll_after()

    assert reports[feed.id].status == "ok"
    assert reports[feed.id].new_stories == 3
    assert reports[feed.id].matched == 1
    assert h.outbox() == [(ANN, "alert", "Ukraine talks resume")]
    assert len(h.signals) == 1

    h.publish("/world.xml", h.fresh(5, "Football: the cup final"))
    reports = await h.poll_after()
    assert reports[feed.id].matched == 1
    assert h.outbox()[1:] == [(CAROL, "alert", "Football: the cup final")]

    reports = await h.poll_after()
    assert reports[feed.id].status == "not modified"
    assert len(h.outbox()) == 2


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
async def test_an_unchanged_feed_costs_no_parsing(h: Harness, validator: str) -> None:
    body = rss([h.fresh(1, "Ukraine talks resume")], title="World Desk")
    if validator == "etag":
        h.server.set_feed("/world.xml", body, last_modified=None)
    else:
        h.server.set_feed("/world.xml", body, etag=None)
    feed = await h.add("/world.xml")
    await h.poll()
    stored = await h.feed(feed.id)
    parses = h.parsers.runs

    reports = await h.poll_after()

    assert reports[feed.id].status == "not modified"
    assert h.parsers.runs == parses
    sent = h.server.last_headers("/world.xml")
    if validator == "etag":
        assert sent["if-none-match"] == stored.etag
    else:
        assert sent["if-modified-since"] == stored.last_modified
    after = await h.feed(feed.id)
    assert after.entries_seen == stored.entries_seen
    assert after.last_ok_at == pytest.approx(h.clock())
    assert after.next_poll_at == pytest.approx(h.clock() + INTERVAL)
    assert h.story_count() == 1


async def test_failures_back_off_exponentially_and_a_success_resets_them(h: Harness) -> None:
    h.server.set_fault("/world.xml", status=500)
    feed = await h.add("/world.xml")

    expected_delays = [INTERVAL, 2 * INTERVAL, 4 * INTERVAL]
    for failures, delay in enumerate(expected_delays, start=1):
        reports = await h.poll()
        assert reports[feed.id].status == "error"
        stored = await h.feed(feed.id)
        assert stored.failures == failures
        assert stored.last_error is not None
        assert "500" in stored.last_error
        assert stored.next_poll_at == pytest.approx(h.clock() + delay)
        assert not stored.primed
        h.clock.advance(delay - 1)
        assert await h.poll() == {}, "not retried before its backoff ends"
        h.clock.advance(1)

    h.server.clear_fault("/world.xml")
    h.publish("/world.xml", h.fresh(1, "Ukraine talks resume"))
    reports = await h.poll()
    assert reports[feed.id].status == "ok"
    stored = await h.feed(feed.id)
    assert stored.failures == 0
    assert stored.last_error is None
    assert stored.next_poll_at == pytest.approx(h.clock() + INTERVAL)
    assert h.outbox() == [], "the first good poll primes the feed"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 404}, "404"),
        ({"status": 200, "body": "<html><body>Moved to our app!</body></html>"}, "not a feed"),
        ({"status": 200, "body": ""}, "empty"),
        ({"truncate_at": 120}, ""),
    ],
    ids=["404", "an HTML page", "an empty body", "a body cut short of its Content-Length"],
)
async def test_bad_responses_are_failures(
    h: Harness, fault: dict[str, int | str], error: str
) -> None:
    h.publish("/world.xml", h.fresh(1, "Ukraine talks resume"))
    h.server.set_fault("/world.xml", **fault)  # type: ignore[arg-type]
    feed = await h.add("/world.xml")

    reports = await h.poll()

    assert reports[feed.id].status == "error"
    stored = await h.feed(feed.id)
    assert stored.failures == 1
    assert stored.last_error
    assert error.lower() in stored.last_error.lower()
    assert h.story_count() == 0


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(301, True), (308, True), (302, False), (307, False)],
    ids=["301", "308", "302", "307"],
)
async def test_only_a_permanent_redirect_updates_the_stored_url(
    h: Harness, status: int, permanent: bool
) -> None:
    h.publish("/new.xml", h.fresh(1, "Primer"))
    h.server.set_fault("/old.xml", redirect_to="/new.xml", status=status)
    feed = await h.add("/old.xml")

    reports = await h.poll()

    assert reports[feed.id].status == "ok"
    stored = await h.feed(feed.id)
    expected = h.server.url("/new.xml") if permanent else h.server.url("/old.xml")
    assert stored.url == expected
    await h.poll_after()
    assert h.server.hits("/old.xml") == (1 if permanent else 2)


async def test_a_permanent_redirect_to_a_known_feed_keeps_the_url(h: Harness) -> None:
    h.publish("/new.xml", h.fresh(1, "Primer"))
    h.server.set_fault("/old.xml", redirect_to="/new.xml", status=301)
    old = await h.add("/old.xml")
    await h.add("/new.xml")

    await h.poll()

    assert (await h.feed(old.id)).url == h.server.url("/old.xml"), "URLs stay unique"


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [("1800", 1800.0), ("5", INTERVAL), ("9999999", MAX_SERVER_DELAY_SECONDS)],
    ids=["longer than the backoff", "shorter than the backoff", "capped"],
)
async def test_retry_after_on_a_503_is_honoured(h: Harness, retry_after: str, delay: float) -> None:
    h.server.set_fault("/world.xml", status=503, headers={"Retry-After": retry_after})
    feed = await h.add("/world.xml")

    reports = await h.poll()

    assert reports[feed.id].status == "error"
    stored = await h.feed(feed.id)
    assert stored.failures == 1
    assert stored.next_poll_at == pytest.approx(h.clock() + delay, abs=2)


async def test_server_caching_hints_slow_polling_down(h: Harness) -> None:
    h.server.set_feed(
        "/cached.xml",
        rss([h.fresh(1, "Primer")], title="Cached"),
        headers={"Cache-Control": "public, max-age=900"},
    )
    h.server.set_feed("/ttl.xml", rss([h.fresh(2, "Primer")], title="TTL", ttl=30))
    h.server.set_feed("/plain.xml", rss([h.fresh(3, "Primer")], title="Plain"))
    cached, ttl, plain = [await h.add(p) for p in ("/cached.xml", "/ttl.xml", "/plain.xml")]

    await h.poll()

    assert (await h.feed(cached.id)).next_poll_at == pytest.approx(h.clock() + 900)
    assert (await h.feed(ttl.id)).next_poll_at == pytest.approx(h.clock() + 1800)
    assert (await h.feed(plain.id)).next_poll_at == pytest.approx(h.clock() + INTERVAL)


async def test_a_hanging_feed_does_not_delay_another(h: Harness) -> None:
    h.publish("/good.xml", h.fresh(1, "Primer"))
    h.server.set_fault("/slow.xml", delay=10.0)
    good = await h.add("/good.xml")
    slow = await h.add("/slow.xml")
    await h.parsers.parse(b"<rss version='2.0'><channel/></rss>", RSS_HEADERS)  # warm up

    polling = asyncio.create_task(h.poller.poll_due())

    async def good_feed_done() -> None:
        while (await h.feed(good.id)).last_ok_at is None:
            # The slow feed hangs until the total timeout: the poll cannot be over yet.
            assert not polling.done(), "the good feed waited for the slow one"
            await asyncio.sleep(0.01)

    await asyncio.wait_for(good_feed_done(), timeout=10)
    assert not polling.done(), "the slow feed was still hanging"
    reports = {r.feed_id: r for r in await asyncio.wait_for(polling, timeout=10)}

    assert reports[good.id].status == "ok"
    assert reports[slow.id].status == "error"
    slow_error = reports[slow.id].error
    assert slow_error is not None
    assert "timed out" in slow_error
    assert (await h.feed(slow.id)).failures == 1


async def test_the_same_story_in_two_feeds_alerts_each_user_once(h: Harness) -> None:
    h.publish("/a.xml", h.fresh(1, "Primer A"), title="Desk A")
    h.publish("/b.xml", h.fresh(2, "Primer B"), title="Desk B")
    await h.add("/a.xml")
    await h.add("/b.xml")
    await h.poll()

    link = "https://news.example/ukraine-talks"
    h.publish("/a.xml", h.fresh(10, "Ukraine talks resume", link=f"{link}?utm_source=a"))
    h.publish("/b.xml", h.fresh(20, "Ukraine: talks to resume", link=f"{link}?utm_medium=b"))
    reports = await h.poll_after()
    assert sum(r.matched for r in reports.values()) == 1
    assert len(h.outbox()) == 1

    h.publish("/a.xml", h.fresh(30, "Ukraine ceasefire holds", link="https://a.example/1"))
    h.publish("/b.xml", h.fresh(40, "UKRAINE ceasefire holds!", link="https://b.example/2"))
    reports = await h.poll_after()
    assert sum(r.matched for r in reports.values()) == 1
    assert [user for user, _, _ in h.outbox()] == [ANN, ANN]


async def test_a_connection_dropped_mid_entry_does_not_alert_a_half_story(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(1, "Primer"))
    await h.add("/world.xml")
    await h.poll()
    h.publish("/world.xml", h.fresh(2, "Ukraine talks resume"))
    body = rss(h.items["/world.xml"], title="World Desk").encode()
    cut = body.index(b"</title>", body.index(b"<item>")) + len(b"</title>")
    # No Content-Length: the end of the body is only the connection closing.
    h.server.set_fault("/world.xml", omit_content_length=True, truncate_at=cut)
    await h.poll_after()
    h.server.clear_fault("/world.xml")
    await h.poll_after()

    assert h.alert_links() == [(ANN, "https://news.example/story/2")]


async def test_run_polls_due_feeds_until_stopped(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(1, "Primer"))
    feed = await h.add("/world.xml")
    stop = asyncio.Event()
    running = asyncio.create_task(h.poller.run(stop))
    try:
        deadline = time.monotonic() + 5
        while (await h.feed(feed.id)).last_ok_at is None:
            assert time.monotonic() < deadline, "the due feed was never polled"
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=5)
    assert h.server.hits("/world.xml") == 1


async def test_a_full_disk_pauses_polling_then_recovers_without_loss(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(0, "Primer"))
    feed = await h.add("/world.xml")
    await h.poll()
    # Forty stories (some 8 KB) cannot fit in the free space of the one page the stories
    # table has: storing them needs a new page.
    titles = [f"Ukraine talks resume, round {n}" for n in range(1, 41)]
    h.publish("/world.xml", *(h.fresh(n, title) for n, title in enumerate(titles, start=1)))
    stories_before = h.story_count()

    async with full_disk(h.storage):
        [report] = (await h.poll_after()).values()
        assert report.status == "error"
        assert "database or disk is full" in (report.error or ""), report.error
        assert await h.poller.start_due_polls() == [], "paused instead of refetching every tick"
        h.clock.advance(STORAGE_RETRY_SECONDS / 2)
        assert await h.poll() == {}, "still paused"
    assert h.server.hits("/world.xml") == 2
    assert h.story_count() == stories_before, "nothing of the failed poll was stored"
    assert h.outbox() == []
    assert (await h.feed(feed.id)).failures == 0, "a full disk is not the feed's fault"

    h.clock.advance(STORAGE_RETRY_SECONDS / 2)
    [recovered] = (await h.poll()).values()

    assert recovered.status == "ok"
    assert recovered.new_stories == len(titles)
    assert recovered.matched == len(titles)
    assert sorted(title for _, _, title in h.outbox()) == sorted(titles), "each exactly once"
    assert {user for user, _, _ in h.outbox()} == {ANN}
    assert await h.storage.integrity_check() == "ok"


async def test_a_sql_bug_fails_that_poll_with_a_traceback_and_is_not_retried_as_a_pause(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.publish("/world.xml", h.fresh(0, "Primer"))
    h.publish("/other.xml", h.fresh(100, "Elsewhere"))
    feed = await h.add("/world.xml")
    other = await h.add("/other.xml")
    await h.poll()
    h.publish("/world.xml", h.fresh(1, "Ukraine talks resume"))
    # A release whose queries and schema disagree: a real "no such column" on a real path.
    with contextlib.closing(sqlite3.connect(h.path)) as db:
        db.execute("ALTER TABLE stories RENAME COLUMN summary TO abstract")

    reports = await h.poll_after()

    assert reports[feed.id].status == "error"
    assert reports[feed.id].error == "internal error"
    [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged.exc_info is not None, "logged with its traceback"
    assert isinstance(logged.exc_info[1], sqlite3.OperationalError)
    assert "summary" in str(logged.exc_info[1])
    assert reports[other.id].status == "not modified", "the other feed was polled: no pause"
    stored = await h.feed(feed.id)
    assert stored.failures == 1, "counted as a failed poll of that feed"
    assert stored.last_error == "internal error while polling"
    assert stored.next_poll_at == pytest.approx(h.clock() + INTERVAL)
    assert await h.poll() == {}, "retried on the feed's backoff schedule, not every tick"
    assert h.outbox() == []


async def test_a_feed_removed_while_being_polled_is_discarded_quietly(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    h.publish("/world.xml", h.fresh(1, "Primer"))
    feed = await h.add("/world.xml")
    await h.poll()
    h.publish("/world.xml", h.fresh(2, "Ukraine talks resume"))
    stories_before = h.story_count()
    arrived = h.server.hold("/world.xml")
    h.clock.advance(INTERVAL)
    polling = asyncio.create_task(h.poller.poll_due())
    try:
        # The fetch has reached the server and waits there: the admin removes the feed now.
        assert await asyncio.to_thread(arrived.wait, 30)
        assert await h.storage.remove_feed(feed.id)
    finally:
        h.server.release("/world.xml")
    [report] = await asyncio.wait_for(polling, timeout=30)

    assert report == PollReport(feed.id, "removed")
    assert h.outbox() == []
    assert h.story_count() == stories_before
    assert await h.storage.list_feeds() == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("removed while" in r.getMessage() for r in caplog.records)


def ann_poller(h: Harness, fetcher: Fetcher) -> Poller:
    """A new poller on the harness's database (nothing in memory from the harness's), whose
    index holds only Ann's "Ukraine"."""
    index = SubscriptionIndex()
    index.add(ANN, parse_query("Ukraine").normalised, "Ukraine")
    return Poller(
        h.storage,
        fetcher,
        h.parsers,
        index,
        interval=INTERVAL,
        on_matches=lambda: None,
        clock=h.clock,
    )


async def test_the_burst_limit_counts_per_chat_across_feeds_and_polls(h: Harness) -> None:
    async with contextlib.aclosing(Fetcher(limits=LIMITS)) as fetcher:
        await _two_feeds_burst(h, ann_poller(h, fetcher))


async def _two_feeds_burst(h: Harness, poller: Poller) -> None:
    async def poll_due() -> list[PollReport]:
        reports = await poller.poll_due()
        await fan_out(h.storage, h.clock(), burst_limit=2)
        return reports

    h.publish("/a.xml", h.fresh(1, "Primer A"), title="Desk A")
    h.publish("/b.xml", h.fresh(2, "Primer B"), title="Desk B")
    await h.add("/a.xml")
    await h.add("/b.xml")
    await poll_due()

    def ann_lanes() -> Counter[str]:
        return Counter(kind for user, kind, _ in h.outbox() if user == ANN)

    # Two feeds polled in the same cycle bring Ann four stories: two alerts, two digest lines.
    h.publish("/a.xml", h.fresh(10, "Ukraine talks"), h.fresh(11, "Ukraine grain deal"))
    h.publish("/b.xml", h.fresh(20, "Ukraine drones"), h.fresh(21, "Ukraine energy grid"))
    h.clock.advance(INTERVAL)
    assert len(await poll_due()) == 2
    assert ann_lanes() == Counter(alert=2, digest=2)

    # The next poll is within the window: still over the limit.
    h.publish("/a.xml", h.fresh(12, "Ukraine harvest"))
    h.clock.advance(INTERVAL)
    await poll_due()
    assert ann_lanes() == Counter(alert=2, digest=3)

    # Once the window has passed, alerts flow again.
    h.publish("/b.xml", h.fresh(22, "Ukraine election"))
    h.clock.advance(BURST_WINDOW_SECONDS)
    await poll_due()
    assert ann_lanes() == Counter(alert=3, digest=3)
    assert h.outbox()[-1] == (ANN, "alert", "Ukraine election")
