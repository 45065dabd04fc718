"""New stories travel from a local feed server to subscribers through the real bot."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage import Storage, UserStatus
from tests.e2e import eventually, running_bot
from tests.feedserver import FeedServer, Item, rss

ANN = 2001
BOB = 2002
CAROL = 2003
POLL_TIMEOUT = 10.0


def story(n: int, title: str, text: str = "", *, link: str | None = None) -> Item:
    """A fresh item (published now) with a stable guid."""
    return Item(
        title=title,
        link=link or f"https://news.example/story/{n}?utm_source=rss",
        guid=f"urn:test:{n}",
        description=text or f"<p>{title}. More details follow in the article.</p>",
        pub_date=datetime.now(UTC),
    )


@dataclass
class Feeds:
    """Feeds served locally, each a list of items the tests can grow."""

    server: FeedServer
    items: dict[str, list[Item]] = field(default_factory=dict)

    def publish(self, path: str, *new_items: Item, title: str = "Test News") -> None:
        self.items.setdefault(path, [])[:0] = list(new_items)
        self.server.set_feed(path, rss(self.items[path], title=title))

    async def wait_polled(self, path: str, times: int = 1) -> None:
        """Wait until the feed was fetched `times` more times than now."""
        target = self.server.hits(path) + times
        await eventually(lambda: self.server.hits(path) >= target, POLL_TIMEOUT)


@pytest.fixture
async def feeds() -> AsyncIterator[Feeds]:
    with FeedServer() as server:
        yield Feeds(server)


async def _settle(feeds: Feeds, *paths: str) -> None:
    """Let every feed be polled twice more, so anything it would send has been queued."""
    for path in paths:
        await feeds.wait_polled(path, times=2)
    await asyncio.sleep(0.5)


async def test_matching_story_reaches_the_subscriber(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/world.xml", story(1, "Old news about Ukraine"), title="World Desk")
    async with running_bot(
        tmp_path, {"FEED_URLS": feeds.server.url("/world.xml"), "POLL_INTERVAL_SECONDS": "1"}
    ) as bot:
        await bot.ask(ANN, "/subscribe Ukraine, NATO")
        await bot.ask(BOB, "/subscribe football")
        await feeds.wait_polled("/world.xml")
        feeds.publish(
            "/world.xml",
            story(
                2,
                'Ukraine & NATO: 5 < 6 "plan"',
                "<p>Ministers met in <b>Brussels</b> on Tuesday.</p><p>Read more: elsewhere</p>",
            ),
            title="World Desk",
        )
        sent = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        alert = sent[1]
        lines = alert.plain_text.splitlines()
        assert lines[0] == 'Ukraine & NATO: 5 < 6 "plan"'
        assert lines[1].startswith("World Desk · ")
        assert "Ministers met in Brussels on Tuesday." in alert.plain_text
        assert "Read more" not in alert.plain_text
        assert lines[-1] == "Matched: NATO, Ukraine"
        link = next(e for e in alert.entities if e["type"] == "text_link")
        assert link["url"] == "https://news.example/story/2?utm_source=rss"
        await _settle(feeds, "/world.xml")
        assert len(bot.fake.sent(ANN)) == 2, "one alert per story, not one per subscription"
        assert len(bot.fake.sent(BOB)) == 1, "a non-matching story sends nothing"


async def test_a_new_feed_floods_nobody(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/a.xml", *[story(n, f"Ukraine update {n}") for n in range(30)])
    async with running_bot(tmp_path, {"POLL_INTERVAL_SECONDS": "1"}) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await bot.stop()
        bot.overrides["FEED_URLS"] = feeds.server.url("/a.xml")
        await bot.start()
        await _settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 1


async def test_old_entries_are_recorded_not_alerted(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/a.xml", story(1, "Primer"))
    async with running_bot(
        tmp_path, {"FEED_URLS": feeds.server.url("/a.xml"), "POLL_INTERVAL_SECONDS": "1"}
    ) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await feeds.wait_polled("/a.xml")
        old = story(2, "Ukraine archive piece")
        old["pub_date"] = datetime(2020, 1, 1, tzinfo=UTC)
        feeds.publish("/a.xml", old)
        await _settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 1


async def test_same_story_in_two_feeds_alerts_once(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/a.xml", story(1, "Primer A"))
    feeds.publish("/b.xml", story(100, "Primer B"))
    urls = f"{feeds.server.url('/a.xml')} {feeds.server.url('/b.xml')}"
    async with running_bot(tmp_path, {"FEED_URLS": urls, "POLL_INTERVAL_SECONDS": "1"}) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await feeds.wait_polled("/a.xml")
        await feeds.wait_polled("/b.xml")
        feeds.publish("/a.xml", story(2, "Ukraine talks", link="https://x.example/s/2"))
        # Same link with tracking junk and a fragment, another guid: the same story.
        feeds.publish(
            "/b.xml", story(200, "Ukraine talks begin", link="https://X.example/s/2?fbclid=1#top")
        )
        # Another guid and link, same title: the same story again.
        feeds.publish("/b.xml", story(201, "UKRAINE TALKS", link="https://y.example/other"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        await _settle(feeds, "/a.xml", "/b.xml")
        assert len(bot.fake.sent(ANN)) == 2


async def test_updated_entry_is_not_sent_again(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/a.xml", story(1, "Primer"))
    async with running_bot(
        tmp_path, {"FEED_URLS": feeds.server.url("/a.xml"), "POLL_INTERVAL_SECONDS": "1"}
    ) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await feeds.wait_polled("/a.xml")
        feeds.publish("/a.xml", story(2, "Ukraine vote"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        feeds.items["/a.xml"][0]["title"] = "Ukraine vote: results (updated)"
        feeds.publish("/a.xml")
        await _settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 2


async def test_blocked_user_is_marked_and_others_still_receive(
    tmp_path: Path, feeds: Feeds
) -> None:
    feeds.publish("/a.xml", story(1, "Primer"))
    async with running_bot(
        tmp_path, {"FEED_URLS": feeds.server.url("/a.xml"), "POLL_INTERVAL_SECONDS": "1"}
    ) as bot:
        for user in (ANN, BOB, CAROL):
            await bot.ask(user, "/subscribe Ukraine")
        await bot.ask(CAROL, "/pause")
        await feeds.wait_polled("/a.xml")
        bot.fake.block_user(BOB)
        feeds.publish("/a.xml", story(2, "Ukraine first"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        feeds.publish("/a.xml", story(3, "Ukraine second"))
        await bot.fake.wait_for_sent(ANN, count=3, timeout=POLL_TIMEOUT)
        await _settle(feeds, "/a.xml")
        assert len(bot.fake.sent(BOB)) == 1
        assert len(bot.fake.sent(CAROL)) == 2, "a paused user gets no alerts"
        forbidden = [e for e in bot.fake.errors if e[0] == "sendMessage" and e[1] == 403]
        assert len(forbidden) == 1, "a blocked user is tried once, then skipped"
    storage = await Storage.open(bot.database)
    try:
        bob = await storage.get_user(BOB)
        assert bob is not None
        assert bob.status is UserStatus.BLOCKED
    finally:
        await storage.close()


async def test_rate_limited_alerts_are_delayed_not_lost(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/a.xml", story(1, "Primer"))
    async with running_bot(
        tmp_path, {"FEED_URLS": feeds.server.url("/a.xml"), "POLL_INTERVAL_SECONDS": "1"}
    ) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await feeds.wait_polled("/a.xml")
        bot.fake.fail_next(
            "sendMessage",
            status=429,
            description="Too Many Requests: retry after 2",
            retry_after=2,
            chat_id=ANN,
            times=2,
        )
        feeds.publish("/a.xml", story(2, "Ukraine one"), story(3, "Ukraine two"))
        sent = await bot.fake.wait_for_sent(ANN, count=3, timeout=POLL_TIMEOUT)
        assert {m.plain_text.splitlines()[0] for m in sent[1:]} == {"Ukraine one", "Ukraine two"}
        await _settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 3


async def test_restart_mid_delivery_loses_and_repeats_nothing(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/a.xml", story(1, "Primer"))
    async with running_bot(
        tmp_path, {"FEED_URLS": feeds.server.url("/a.xml"), "POLL_INTERVAL_SECONDS": "1"}
    ) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await feeds.wait_polled("/a.xml")
        # About one message a second reaches one chat: stop while most are still queued.
        feeds.publish("/a.xml", *[story(n, f"Ukraine item {n}") for n in range(2, 10)])
        await bot.fake.wait_for_sent(ANN, count=3, timeout=POLL_TIMEOUT)
        await bot.stop()
        delivered_before = len(bot.fake.sent(ANN))
        assert delivered_before < 9
        await bot.start()
        sent = await bot.fake.wait_for_sent(ANN, count=9, timeout=20)
        await _settle(feeds, "/a.xml")
        titles = [m.plain_text.splitlines()[0] for m in bot.fake.sent(ANN)[1:]]
        assert sorted(titles) == sorted(f"Ukraine item {n}" for n in range(2, 10))
        assert len(sent) == 9


async def test_broken_feed_changes_nothing_for_good_ones(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/good.xml", story(1, "Primer"))
    feeds.server.set_feed("/bad.xml", "<rss><channel><item><title>broken")
    feeds.server.set_fault("/gone.xml", status=500)
    urls = " ".join(feeds.server.url(p) for p in ("/bad.xml", "/gone.xml", "/good.xml"))
    async with running_bot(tmp_path, {"FEED_URLS": urls, "POLL_INTERVAL_SECONDS": "1"}) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await feeds.wait_polled("/good.xml")
        feeds.publish("/good.xml", story(2, "Ukraine good news"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
    storage = await Storage.open(bot.database)
    try:
        by_url = {feed.url.rsplit("/", 1)[1]: feed for feed in await storage.list_feeds()}
    finally:
        await storage.close()
    assert by_url["good.xml"].failures == 0
    assert by_url["gone.xml"].failures >= 1
    assert by_url["gone.xml"].last_error == "HTTP 500 Internal Server Error"
    assert by_url["bad.xml"].failures >= 1
    assert by_url["bad.xml"].last_error
