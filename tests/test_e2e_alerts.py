"""New stories travel from a local feed server to subscribers through the real bot."""

import contextlib
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage import ChatStatus, ChatType
from bot.storage.sqlite import SqliteStorage
from tests.e2e import POLL_TIMEOUT, Feeds, eventually, running_bot, story, watching_bot

ANN = 2001
BOB = 2002
CAROL = 2003
FORUM = -1_000_000_002_001
TOPIC = 7


async def test_matching_story_reaches_the_subscriber(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/world.xml", story(1, "Old news about Ukraine"), title="World Desk")
    async with watching_bot(tmp_path, feeds, "/world.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine, NATO")
        await bot.ask(BOB, "/subscribe football")
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
        await bot.settle(feeds, "/world.xml")
        assert len(bot.fake.sent(ANN)) == 2, "one alert per story, not one per subscription"
        assert len(bot.fake.sent(BOB)) == 1, "a non-matching story sends nothing"


async def test_a_subscription_made_in_a_forum_topic_alerts_into_that_topic(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.make_admin(FORUM, ANN)  # a group's alerts are its admins' to change
        bot.fake.user_sends(
            ANN, "/subscribe Ukraine", chat_id=FORUM, chat_type="supergroup", thread_id=TOPIC
        )
        await bot.fake.wait_for_sent(FORUM, count=1)
        feeds.publish("/a.xml", story(2, "Ukraine in the topic"))
        sent = await bot.fake.wait_for_sent(FORUM, count=2, timeout=POLL_TIMEOUT)
        assert sent[1].plain_text.startswith("Ukraine in the topic")
        assert sent[1].thread_id == TOPIC
        assert sent[1].params["message_thread_id"] == TOPIC
    storage = await SqliteStorage.open(bot.database)
    try:
        [subscription] = await storage.list_subscriptions(FORUM)
        assert subscription.thread_id == TOPIC
        chat = await storage.get_chat(FORUM)
        assert chat is not None
        assert (chat.type, chat.title) == (ChatType.SUPERGROUP, f"Chat {FORUM}")
    finally:
        await storage.close()


async def test_a_new_feed_floods_nobody(tmp_path: Path, feeds: Feeds) -> None:
    feeds.publish("/a.xml", *[story(n, f"Ukraine update {n}") for n in range(30)])
    async with running_bot(tmp_path, {"POLL_INTERVAL_SECONDS": "1"}) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await bot.stop()
        bot.overrides["FEED_URLS"] = feeds.server.url("/a.xml")
        await bot.start()
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 1


async def test_old_entries_are_recorded_not_alerted(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        old = story(2, "Ukraine archive piece")
        old["pub_date"] = datetime(2020, 1, 1, tzinfo=UTC)
        feeds.publish("/a.xml", old)
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 1


async def test_same_story_in_two_feeds_alerts_once(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml", "/b.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/a.xml", story(2, "Ukraine talks", link="https://x.example/s/2"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        # Same link with tracking junk and a fragment, another guid: the same story.
        feeds.publish(
            "/b.xml", story(200, "Ukraine talks begin", link="https://X.example/s/2?fbclid=1#top")
        )
        # Another guid and link, same title: the same story again.
        feeds.publish("/b.xml", story(201, "UKRAINE TALKS", link="https://y.example/other"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        await bot.settle(feeds, "/a.xml", "/b.xml")
        assert len(bot.fake.sent(ANN)) == 2


async def test_updated_entry_is_not_sent_again(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/a.xml", story(2, "Ukraine vote"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        feeds.items["/a.xml"][0]["title"] = "Ukraine vote: results (updated)"
        feeds.publish("/a.xml")
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 2


async def test_blocked_user_is_marked_and_others_still_receive(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        for user in (ANN, BOB, CAROL):
            await bot.ask(user, "/subscribe Ukraine")
        await bot.ask(CAROL, "/pause")
        bot.fake.block_user(BOB)
        feeds.publish("/a.xml", story(2, "Ukraine first"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        feeds.publish("/a.xml", story(3, "Ukraine second"))
        await bot.fake.wait_for_sent(ANN, count=3, timeout=POLL_TIMEOUT)
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(BOB)) == 1
        assert len(bot.fake.sent(CAROL)) == 2, "a paused user gets no alerts"
        forbidden = [e for e in bot.fake.errors if e[0] == "sendMessage" and e[1] == 403]
        assert len(forbidden) == 1, "a blocked user is tried once, then skipped"
    storage = await SqliteStorage.open(bot.database)
    try:
        bob = await storage.get_chat(BOB)
        assert bob is not None
        assert bob.status is ChatStatus.BLOCKED
    finally:
        await storage.close()


async def test_rate_limited_alerts_are_delayed_not_lost(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
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
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 3


async def test_restart_mid_delivery_loses_and_repeats_nothing(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        # About one message a second reaches one chat: stop while most are still queued.
        feeds.publish("/a.xml", *[story(n, f"Ukraine item {n}") for n in range(2, 10)])
        await bot.fake.wait_for_sent(ANN, count=3, timeout=POLL_TIMEOUT)
        await bot.stop()
        delivered_before = len(bot.fake.sent(ANN))
        assert delivered_before < 9
        await bot.start()
        sent = await bot.fake.wait_for_sent(ANN, count=9, timeout=20)
        await bot.settle(feeds, "/a.xml")
        titles = [m.plain_text.splitlines()[0] for m in bot.fake.sent(ANN)[1:]]
        assert sorted(titles) == sorted(f"Ukraine item {n}" for n in range(2, 10))
        assert len(sent) == 9


async def test_broken_feed_changes_nothing_for_good_ones(tmp_path: Path, feeds: Feeds) -> None:
    feeds.server.set_feed("/bad.xml", "<rss><channel><item><title>broken")
    feeds.items["/bad.xml"] = []
    feeds.server.set_fault("/gone.xml", status=500)
    feeds.items["/gone.xml"] = []
    async with watching_bot(tmp_path, feeds, "/bad.xml", "/gone.xml", "/good.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/good.xml", story(2, "Ukraine good news"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
    storage = await SqliteStorage.open(bot.database)
    try:
        by_url = {feed.url.rsplit("/", 1)[1]: feed for feed in await storage.list_feeds()}
    finally:
        await storage.close()
    assert by_url["good.xml"].failures == 0
    assert by_url["gone.xml"].failures >= 1
    assert by_url["gone.xml"].last_error == "HTTP 500 Internal Server Error"
    assert by_url["bad.xml"].failures >= 1
    assert by_url["bad.xml"].last_error


def _query(database: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return list(db.execute(sql, params))


def _status(database: Path, user_id: int) -> str:
    [(status,)] = _query(database, "SELECT status FROM chats WHERE id = ?", user_id)
    return str(status)


async def test_unblocking_the_bot_resumes_alerts_and_a_pause_outlasts_a_block(
    tmp_path: Path, feeds: Feeds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers")
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        db = bot.database
        for user in (ANN, BOB):
            await bot.ask(user, "/subscribe Ukraine")
        await bot.ask(BOB, "/pause")

        for user in (ANN, BOB):
            bot.fake.user_blocks_bot(user)
        await eventually(lambda: _status(db, ANN) == "blocked", POLL_TIMEOUT)
        await eventually(lambda: f"Chat {BOB} blocked" in caplog.text, POLL_TIMEOUT)
        assert _status(db, BOB) == "paused"
        feeds.publish("/a.xml", story(2, "Ukraine while blocked"))
        stored = "SELECT 1 FROM stories WHERE title = 'Ukraine while blocked'"
        await eventually(lambda: bool(_query(db, stored)), POLL_TIMEOUT)
        assert _query(db, "SELECT chat_id FROM outbox") == [], (
            "nobody gets a row while blocked or paused"
        )

        for user in (ANN, BOB):
            bot.fake.user_unblocks_bot(user)
        await eventually(lambda: _status(db, ANN) == "active", POLL_TIMEOUT)
        await eventually(lambda: f"Chat {BOB} unblocked" in caplog.text, POLL_TIMEOUT)
        assert _status(db, BOB) == "paused", "a pause is only lifted by /resume"

        already = len(bot.fake.sent(ANN))
        feeds.publish("/a.xml", story(3, "Ukraine after unblocking"))
        [alert] = (await bot.fake.wait_for_sent(ANN, count=already + 1, timeout=POLL_TIMEOUT))[
            already:
        ]
        assert "Ukraine after unblocking" in alert.plain_text
        assert _query(db, "SELECT chat_id FROM outbox") == [(ANN,)]
