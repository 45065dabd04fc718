"""Telegram faults, floods of stories and floods of commands, end to end."""

import asyncio
import time
from pathlib import Path

from bot.storage import Storage
from tests.e2e import Feeds, eventually, running_bot, story, watching_bot

ANN = 3001
BOB = 3002
GROUP = -4001
SUPERGROUP = -1004001
WAIT = 15.0


async def test_server_errors_are_retried_until_delivered(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        bot.fake.fail_next("sendMessage", status=502, chat_id=ANN)
        feeds.publish("/a.xml", story(2, "Ukraine after an outage"))
        sent = await bot.fake.wait_for_sent(ANN, count=2, timeout=WAIT)
        assert sent[1].plain_text.startswith("Ukraine after an outage")
        assert any(error[1] == 502 for error in bot.fake.errors)


async def test_long_retry_after_delays_one_chat_not_the_others(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await bot.ask(BOB, "/subscribe Ukraine")
        bot.fake.fail_next("sendMessage", status=429, retry_after=6, chat_id=ANN)
        feeds.publish("/a.xml", story(2, "Ukraine breaking"))
        await eventually(lambda: any(e[1] == 429 for e in bot.fake.errors), WAIT)
        limited_at = time.monotonic()
        await bot.fake.wait_for_sent(BOB, count=2, timeout=WAIT)
        reply = await bot.ask(BOB, "/list")
        assert "1. Ukraine" in reply.plain_text
        assert time.monotonic() - limited_at < 5, "others are served during the wait"
        assert len(bot.fake.sent(ANN)) == 1
        sent = await bot.fake.wait_for_sent(ANN, count=2, timeout=WAIT)
        assert time.monotonic() - limited_at >= 5.5
        assert sent[1].plain_text.startswith("Ukraine breaking")


async def test_group_migrated_to_supergroup_keeps_its_subscriptions(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.user_sends(ANN, "/subscribe Ukraine", chat_id=GROUP, chat_type="group")
        await bot.fake.wait_for_sent(GROUP, count=1)
        bot.fake.migrate_group(GROUP, SUPERGROUP)
        feeds.publish("/a.xml", story(2, "Ukraine in the group"))
        sent = await bot.fake.wait_for_sent(SUPERGROUP, count=1, timeout=WAIT)
        assert sent[0].plain_text.startswith("Ukraine in the group")
    storage = await Storage.open(bot.database)
    try:
        assert [s.display for s in await storage.list_subscriptions(SUPERGROUP)] == ["Ukraine"]
        assert await storage.list_subscriptions(GROUP) == []
    finally:
        await storage.close()


async def test_a_flood_of_stories_becomes_alerts_then_one_digest(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml", overrides={"ALERT_BURST_LIMIT": "3"}) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await bot.ask(BOB, "/subscribe Ukraine")
        await bot.ask(BOB, "/subscribe NATO")
        # Three stories for Bob (at the limit): three alerts, no digest.
        feeds.publish("/a.xml", *[story(n, f"NATO meeting {n}") for n in range(10, 13)])
        await bot.fake.wait_for_sent(BOB, count=5, timeout=WAIT)
        feeds.publish("/a.xml", *[story(n, f"Ukraine item {n}") for n in range(20, 28)])
        sent = await bot.fake.wait_for_sent(ANN, count=5, timeout=WAIT)
        await feeds.wait_polled("/a.xml", times=2)
        await asyncio.sleep(1)
        sent = bot.fake.sent(ANN)
        assert len(sent) == 5, "three alerts and one digest"
        digest = sent[4]
        assert digest.plain_text.startswith("…and 5 more new stories")
        listed = [line for line in digest.plain_text.splitlines() if "Ukraine item" in line]
        assert len(listed) == 5
        alerted = {m.plain_text.splitlines()[0] for m in sent[1:4]}
        everything = alerted | {line.split(". ", 1)[1] for line in listed}
        assert everything == {f"Ukraine item {n}" for n in range(20, 28)}
        links = [e["url"] for e in digest.entities if e["type"] == "text_link"]
        assert len(links) == 5
        # Bob had his three alerts (the limit) minutes ago: his Ukraine stories are a digest.
        assert len(bot.fake.sent(BOB)) == 2 + 3 + 1, "replies, NATO, digest"


async def test_a_user_flooding_commands_is_slowed_without_delaying_others(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(BOB, "/start")
        for _ in range(100):
            bot.fake.user_sends(ANN, "/list")
        started = time.monotonic()
        reply = await bot.ask(BOB, "/list")
        assert "no subscriptions" in reply.plain_text
        assert time.monotonic() - started < 3
        await asyncio.sleep(1)
        answers = [m.plain_text for m in bot.fake.sent(ANN)]
        notices = [text for text in answers if "faster than I can sensibly answer" in text]
        assert len(notices) == 1
        assert len(answers) <= 20 + 5 + 1
        await asyncio.sleep(3)
        later = await bot.ask(ANN, "/list")
        assert "no subscriptions" in later.plain_text
