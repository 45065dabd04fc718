"""Telegram faults, floods of stories and floods of commands, end to end."""

from pathlib import Path

from bot.storage import ChatType
from bot.storage.sqlite import SqliteStorage
from tests.clocks import JumpClock
from tests.e2e import Feeds, eventually, story, watching_bot

ANN = 3001
BOB = 3002
GROUP = -4001
SUPERGROUP = -1004001
WAIT = 15.0
# Telegram's pause, longer than any test could wait: only moving the clock ends it.
LONG_RETRY_AFTER = 600


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
    clock = JumpClock()
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await bot.ask(BOB, "/subscribe Ukraine")
        await bot.ask(BOB, "/subscribe NATO")
        bot.fake.fail_next("sendMessage", status=429, retry_after=LONG_RETRY_AFTER, chat_id=ANN)
        feeds.publish("/a.xml", story(2, "Ukraine breaking"))
        await eventually(lambda: any(e[1] == 429 for e in bot.fake.errors), WAIT)
        # Ann's chat now waits; a story published after the 429 still reaches Bob.
        feeds.publish("/a.xml", story(3, "NATO meets"))
        sent_to_bob = await bot.fake.wait_for_sent(BOB, count=4, timeout=WAIT)
        assert {m.plain_text.splitlines()[0] for m in sent_to_bob[2:]} == {
            "Ukraine breaking",
            "NATO meets",
        }, "others are served during the wait"
        reply = await bot.ask(BOB, "/list")
        assert "1. Ukraine" in reply.plain_text
        assert len(bot.fake.sent(ANN)) == 1, "Ann's alert waits out Telegram's pause"
        clock.jump(LONG_RETRY_AFTER)
        sent = await bot.fake.wait_for_sent(ANN, count=2, timeout=WAIT)
        assert sent[1].plain_text.startswith("Ukraine breaking")
        assert bot.fake.rate_limited_count == 1, "no retry before the pause ended"


async def test_group_migrated_to_supergroup_keeps_its_subscriptions(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        bot.fake.make_admin(GROUP, ANN)  # a group's alerts are its admins' to change
        bot.fake.user_sends(ANN, "/subscribe Ukraine", chat_id=GROUP, chat_type="group")
        await bot.fake.wait_for_sent(GROUP, count=1)
        bot.fake.migrate_group(GROUP, SUPERGROUP)
        feeds.publish("/a.xml", story(2, "Ukraine in the group"))
        sent = await bot.fake.wait_for_sent(SUPERGROUP, count=1, timeout=WAIT)
        assert sent[0].plain_text.startswith("Ukraine in the group")
    storage = await SqliteStorage.open(bot.database)
    try:
        assert [s.display for s in await storage.list_subscriptions(SUPERGROUP)] == ["Ukraine"]
        assert await storage.list_subscriptions(GROUP) == []
        moved = await storage.get_chat(SUPERGROUP)
        assert moved is not None
        assert moved.type is ChatType.SUPERGROUP
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
        await bot.fake.wait_for_sent(ANN, count=5, timeout=WAIT)
        # Bob had his three alerts (the limit) minutes ago: all his Ukraine stories are a digest.
        await bot.fake.wait_for_sent(BOB, count=2 + 3 + 1, timeout=WAIT)
        # A later story is a barrier: each chat's messages go out in the order queued, so
        # anything more from the flood would arrive before it. Both chats are past the burst
        # limit now, so it comes as a digest of its own.
        feeds.publish("/a.xml", story(30, "Ukraine barrier"))
        sent = await bot.fake.wait_for_sent(ANN, count=6, timeout=WAIT)
        assert "Ukraine barrier" in sent[5].plain_text, "three alerts and one digest"
        digest = sent[4]
        assert digest.plain_text.startswith("…and 5 more new stories")
        listed = [line for line in digest.plain_text.splitlines() if "Ukraine item" in line]
        assert len(listed) == 5
        alerted = {m.plain_text.splitlines()[0] for m in sent[1:4]}
        everything = alerted | {line.split(". ", 1)[1] for line in listed}
        assert everything == {f"Ukraine item {n}" for n in range(20, 28)}
        links = [e["url"] for e in digest.entities if e["type"] == "text_link"]
        assert len(links) == 5
        to_bob = await bot.fake.wait_for_sent(BOB, count=2 + 3 + 1 + 1, timeout=WAIT)
        assert len(to_bob) == 2 + 3 + 1 + 1, "replies, NATO, digest, barrier"
        bob_digest = to_bob[5].plain_text
        assert {f"Ukraine item {n}" for n in range(20, 28)} <= {
            line.split(". ", 1)[-1] for line in bob_digest.splitlines()
        }
        assert "Ukraine barrier" in to_bob[6].plain_text
        assert len(bot.fake.sent(ANN)) == 6
