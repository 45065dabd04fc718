"""Forum topics through the real bot and the Bot API fake: each topic its own alerts, a
query in two topics, a deleted topic and /movetopic."""

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from bot.matching.query import parse_query
from bot.render.groups import admins_only
from bot.storage import ChatSeen, ChatType
from bot.storage.sqlite import SqliteStorage
from tests.botapi_fake import SentMessage
from tests.e2e import POLL_TIMEOUT, BotHarness, Feeds, story, watching_bot

ADMIN = 5001
MEMBER = 5002
FORUM = -1_000_000_005_001
WORLD, SPORT = 7, 9


async def say(
    bot: BotHarness, user_id: int, text: str, topic: int, forum: int = FORUM
) -> SentMessage:
    """Write in the forum topic as the user and return the bot's next message there."""
    already = len(bot.fake.sent(forum))
    bot.fake.user_sends(user_id, text, chat_id=forum, chat_type="supergroup", thread_id=topic)
    return (await bot.fake.wait_for_sent(forum, count=already + 1))[already]


async def alert(bot: BotHarness, title: str, forum: int = FORUM) -> SentMessage:
    """Wait for the alert about the story titled title."""
    await bot.fake.wait_until(
        lambda: any(m.plain_text.startswith(title) for m in bot.fake.sent(forum)),
        timeout=POLL_TIMEOUT,
    )
    return next(m for m in bot.fake.sent(forum) if m.plain_text.startswith(title))


def topics_of(bot: BotHarness, forum: int = FORUM) -> list[tuple[str, int | None]]:
    with sqlite3.connect(bot.database) as db:
        rows = db.execute(
            "SELECT display, thread_id FROM subscriptions WHERE chat_id = ? ORDER BY id", (forum,)
        )
        return [(str(display), thread) for display, thread in rows]


def forum_with_admin(bot: BotHarness, forum: int = FORUM) -> None:
    bot.fake.add_chat(forum, "supergroup", title="Desk", is_forum=True)
    bot.fake.make_admin(forum, ADMIN)


async def test_two_topics_get_their_own_alerts(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        forum_with_admin(bot)
        world = await say(bot, ADMIN, "/subscribe Ukraine", WORLD)
        sport = await say(bot, ADMIN, "/subscribe football", SPORT)
        assert (world.thread_id, sport.thread_id) == (WORLD, SPORT), "answered in the topic"
        feeds.publish("/a.xml", story(2, "Ukraine talks resume"), story(3, "football final"))
        ukraine = await alert(bot, "Ukraine talks resume")
        football = await alert(bot, "football final")
        assert (ukraine.thread_id, football.thread_id) == (WORLD, SPORT)
        assert topics_of(bot) == [("Ukraine", WORLD), ("football", SPORT)]


async def test_a_query_in_two_topics_is_two_subscriptions(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        forum_with_admin(bot)
        await say(bot, ADMIN, "/subscribe Ukraine", WORLD)
        again = await say(bot, ADMIN, "/subscribe Ukraine", SPORT)
        assert "already" not in again.plain_text.casefold()
        assert topics_of(bot) == [("Ukraine", WORLD), ("Ukraine", SPORT)]
        removed = await say(bot, ADMIN, "/unsubscribe Ukraine", SPORT)
        assert "Ukraine" in removed.plain_text
        assert topics_of(bot) == [("Ukraine", WORLD)], "the topic's own one goes"
        feeds.publish("/a.xml", story(2, "Ukraine still followed"))
        still = await alert(bot, "Ukraine still followed")
        assert still.thread_id == WORLD, "the other topic still gets its alerts"


async def test_a_deleted_topics_alerts_fail_cleanly_until_moved(
    tmp_path: Path, feeds: Feeds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        forum_with_admin(bot)
        await say(bot, ADMIN, "/subscribe Ukraine, NATO", WORLD)
        bot.fake.delete_topic(FORUM, WORLD)
        feeds.publish("/a.xml", story(2, "Ukraine into the void"))
        await bot.fake.wait_until(
            lambda: f"Forum topic {WORLD} of chat {FORUM} is deleted or closed" in caplog.text,
            timeout=POLL_TIMEOUT,
        )
        await bot.drained()
        with sqlite3.connect(bot.database) as db:
            [(status, error)] = db.execute(
                "SELECT status, error FROM outbox WHERE chat_id = ?", (FORUM,)
            )
        assert (status, error) == ("failed", "Message thread not found")

        refused = await say(bot, MEMBER, "/movetopic all", SPORT)
        assert refused.plain_text == admins_only()
        moved = await say(bot, ADMIN, "/movetopic all", SPORT)
        assert "Ukraine" in moved.plain_text and "NATO" in moved.plain_text
        assert moved.thread_id == SPORT
        assert topics_of(bot) == [("Ukraine", SPORT), ("NATO", SPORT)]
        feeds.publish("/a.xml", story(3, "Ukraine in the new topic"))
        arrived = await alert(bot, "Ukraine in the new topic")
        assert arrived.thread_id == SPORT


async def test_movetopic_by_number_and_to_general(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        forum_with_admin(bot)
        await say(bot, ADMIN, "/subscribe Ukraine, NATO, Kyiv", WORLD)
        bot.fake.user_sends(ADMIN, "/movetopic 2, 7", chat_id=FORUM, chat_type="supergroup")
        [*_, moved] = await bot.fake.wait_for_sent(FORUM, count=2)
        assert moved.thread_id is None, "General: the chat itself"
        assert "NATO" in moved.plain_text and "Not found: 7" in moved.plain_text
        assert topics_of(bot) == [("Ukraine", WORLD), ("NATO", None), ("Kyiv", WORLD)]
        usage = await say(bot, ADMIN, "/movetopic", WORLD)
        assert "/movetopic all" in usage.plain_text
        plain_group = -1_000_000_005_002
        bot.fake.add_chat(plain_group, "supergroup")
        bot.fake.make_admin(plain_group, ADMIN)
        bot.fake.user_sends(ADMIN, "/movetopic all", chat_id=plain_group, chat_type="supergroup")
        [answer] = await bot.fake.wait_for_sent(plain_group)
        assert answer.plain_text.startswith("/movetopic works in a topic")


async def test_a_story_for_a_query_in_two_topics_goes_to_both(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        forum_with_admin(bot)
        await say(bot, ADMIN, "/subscribe Ukraine", WORLD)
        await say(bot, ADMIN, "/subscribe Ukraine, NATO", SPORT)
        feeds.publish("/a.xml", story(2, "Ukraine and NATO meet"))
        await bot.fake.wait_until(
            lambda: (
                len([m for m in bot.fake.sent(FORUM) if m.plain_text.startswith("Ukraine and")])
                == 2
            ),
            timeout=POLL_TIMEOUT,
        )
        await bot.settle(feeds, "/a.xml")
        alerts = [m for m in bot.fake.sent(FORUM) if m.plain_text.startswith("Ukraine and")]
        assert sorted((m.thread_id, m.plain_text.splitlines()[-1]) for m in alerts) == [
            (WORLD, "Matched: Ukraine"),
            (SPORT, "Matched: NATO, Ukraine"),
        ]


async def test_a_button_acts_on_the_alert_of_the_topic_it_was_pressed_in(
    tmp_path: Path, feeds: Feeds
) -> None:
    # The story goes to both topics; Stop on Sport's alert offers Sport's two queries and
    # stops Sport's Ukraine, not World's query of the same name. The subscriptions are
    # stored before the bot starts: the forum's pace (20 a minute, which the flood gate
    # shares) then has room for the presses after the two alerts.
    storage = await SqliteStorage.open(tmp_path / "newshound.sqlite3")
    try:
        now = time.time()
        await storage.register_chat(ChatSeen(FORUM, ChatType.SUPERGROUP, "Desk"), now)
        for topic, queries in ((WORLD, ["Ukraine"]), (SPORT, ["Ukraine", "NATO"])):
            stored = [(parse_query(q).normalised, q) for q in queries]
            await storage.add_subscriptions(FORUM, stored, 10, now, thread_id=topic)
    finally:
        await storage.close()
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        forum_with_admin(bot)
        feeds.publish("/a.xml", story(2, "Ukraine and NATO meet"))
        await bot.fake.wait_until(
            lambda: (
                len([m for m in bot.fake.sent(FORUM) if m.plain_text.startswith("Ukraine and")])
                == 2
            ),
            timeout=POLL_TIMEOUT,
        )
        await bot.settle(feeds, "/a.xml")
        [sport] = [
            m
            for m in bot.fake.sent(FORUM)
            if m.plain_text.startswith("Ukraine and") and m.thread_id == SPORT
        ]
        menu = await press(bot, sport, "⛔ Stop")
        assert [str(b["text"]) for b in menu.buttons][:2] == ["⛔ NATO", "⛔ Ukraine"]
        await press(bot, menu, "⛔ Ukraine")
        assert topics_of(bot) == [("Ukraine", WORLD), ("NATO", SPORT)]


async def press(bot: BotHarness, message: SentMessage, label: str) -> SentMessage:
    """The admin presses the button labelled label; return the message once it changed."""
    data = next(str(b["callback_data"]) for b in message.buttons if str(b["text"]) == label)
    bot.fake.user_presses(ADMIN, message.message_id, data, chat_id=FORUM)

    def changed() -> SentMessage | None:
        now = next(m for m in bot.fake.sent(FORUM) if m.message_id == message.message_id)
        return now if now.reply_markup != message.reply_markup else None

    await bot.fake.wait_until(lambda: changed() is not None)
    current = changed()
    assert current is not None
    return current
