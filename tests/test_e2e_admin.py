"""Two admins and a few dozen subscribers use the admin commands through the Bot API fake."""

import asyncio
import re
from pathlib import Path

from bot.storage import ChatStatus
from bot.storage.sqlite import SqliteStorage
from tests.botapi_fake import SentMessage
from tests.e2e import BotHarness, eventually, running_bot
from tests.feedserver import FeedServer, make_item, rss

ADMIN = 9001
OTHER_ADMIN = 9002
SUBSCRIBERS = list(range(5001, 5031))
ADMINS = {"ADMIN_IDS": f"{ADMIN},{OTHER_ADMIN}"}
BROADCAST_TIMEOUT = 30.0


async def _register_everyone(bot: BotHarness) -> None:
    for user in SUBSCRIBERS:
        bot.fake.user_sends(user, "/start")
    for user in SUBSCRIBERS:
        await bot.fake.wait_for_sent(user, count=1)


async def _broadcast(bot: BotHarness, text: str) -> tuple[SentMessage, SentMessage]:
    """Send /broadcast text as ADMIN; return the preview and the confirmation message."""
    before = len(bot.fake.sent(ADMIN))
    bot.fake.user_sends(ADMIN, text)
    sent = await bot.fake.wait_for_sent(ADMIN, count=before + 2)
    return sent[before], sent[before + 1]


def _received(bot: BotHarness, text: str) -> dict[int, int]:
    """Count, per chat, the messages whose visible text is exactly text."""
    counts: dict[int, int] = {}
    for message in bot.fake.sent():
        if message.plain_text == text:
            counts[message.chat_id] = counts.get(message.chat_id, 0) + 1
    return counts


async def _final_report(bot: BotHarness, status: SentMessage) -> str:
    def finished() -> bool:
        return "Broadcast finished" in _current(bot, status).plain_text

    await eventually(finished, BROADCAST_TIMEOUT)
    return _current(bot, status).plain_text


def _current(bot: BotHarness, message: SentMessage) -> SentMessage:
    return next(m for m in bot.fake.sent(message.chat_id) if m.message_id == message.message_id)


async def test_admin_menu_only_for_admins(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        default = {c["command"] for c in bot.fake.commands()}
        admin = {c["command"] for c in bot.fake.commands({"type": "chat", "chat_id": ADMIN})}
        assert "broadcast" not in default
        assert {"broadcast", "addfeed", "removefeed", "feeds", "stats", "subscribe"} <= admin
        other = bot.fake.commands({"type": "chat", "chat_id": OTHER_ADMIN})
        assert {c["command"] for c in other} == admin


async def test_non_admins_are_refused_and_nothing_happens(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set_feed("/f.xml", rss([make_item(1)]))
        async with running_bot(tmp_path, ADMINS) as bot:
            user = SUBSCRIBERS[0]
            for command in (
                "/broadcast hi all",
                f"/addfeed {server.url('/f.xml')}",
                "/removefeed 1",
                "/feeds",
                "/stats",
            ):
                reply = await bot.ask(user, command)
                assert reply.plain_text == "Sorry, that command is for the bot's admins."
            await bot.drained()  # handlers run in order: each refusal came after its work
            assert server.hits("/f.xml") == 0
            assert len(bot.fake.sent()) == 5
    storage = await SqliteStorage.open(bot.database)
    try:
        assert await storage.list_feeds() == []
        assert await storage.broadcasts_in_progress() == []
    finally:
        await storage.close()


async def test_broadcast_usage_and_length_limit(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        usage = await bot.ask(ADMIN, "/broadcast")
        assert "Usage" in usage.plain_text
        too_long = await bot.ask(ADMIN, "/broadcast " + "x" * 4097)
        assert "4097 characters long; Telegram allows 4096" in too_long.plain_text
        preview, confirm = await _broadcast(bot, "/broadcast " + "y" * 4096)
        assert preview.plain_text == "y" * 4096
        assert "nobody" in confirm.plain_text


async def test_broadcast_preview_confirm_and_report(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        await _register_everyone(bot)
        paused, blocked_before = SUBSCRIBERS[:3], SUBSCRIBERS[3:5]
        for user in paused:
            await bot.ask(user, "/pause")
        await bot.stop()
        storage = await SqliteStorage.open(bot.database)
        for user in blocked_before:
            await storage.set_chat_status(user, ChatStatus.BLOCKED, now=0)
        await storage.close()
        await bot.start()
        blocks_during = SUBSCRIBERS[5:8]
        for user in blocks_during:
            bot.fake.block_user(user)
        text = "/broadcast <b>Maintenance</b> tonight & tomorrow"
        preview, confirm = await _broadcast(bot, text)
        assert preview.text == "&lt;b&gt;Maintenance&lt;/b&gt; tonight &amp; tomorrow"
        recipients = len(SUBSCRIBERS) - len(paused) - len(blocked_before)
        assert f"will go to {recipients} active subscribers" in confirm.plain_text
        ok = next(d for d in confirm.callback_data if d.startswith("bc:ok:"))
        # Another admin cannot send someone else's broadcast.
        bot.fake.user_presses(OTHER_ADMIN, confirm.message_id, ok, chat_id=ADMIN)
        await eventually(lambda: len(bot.fake.callback_answers) == 1, 5)
        assert "Only the admin who wrote" in str(bot.fake.callback_answers[0].get("text"))
        bot.fake.user_presses(ADMIN, confirm.message_id, ok)
        report = await _final_report(bot, confirm)
        delivered = len(SUBSCRIBERS) - len(paused) - len(blocked_before) - len(blocks_during)
        assert report == (
            f"✅ Broadcast finished: {delivered} delivered, {len(blocks_during)} blocked the bot "
            f"(marked as blocked), 0 failed, of {recipients}."
        )
        received = _received(bot, "<b>Maintenance</b> tonight & tomorrow")
        assert received.pop(ADMIN) == 1, "the preview"
        assert set(received) == set(SUBSCRIBERS) - set(paused + blocked_before + blocks_during)
        assert set(received.values()) == {1}
        # A second tap on Send does nothing.
        sends_before = len(bot.fake.sent())
        bot.fake.user_presses(ADMIN, confirm.message_id, ok, require_button=False)
        await eventually(lambda: len(bot.fake.callback_answers) == 3, 5)
        await bot.drained()  # a second sending would be queued before the tap is answered
        assert len(bot.fake.sent()) == sends_before
    storage = await SqliteStorage.open(bot.database)
    try:
        for user in blocks_during:
            stored = await storage.get_chat(user)
            assert stored is not None
            assert stored.status is ChatStatus.BLOCKED
    finally:
        await storage.close()


async def test_broadcast_of_a_replied_message_keeps_formatting(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        await _register_everyone(bot)
        original = bot.fake.user_sends(
            ADMIN,
            "Bold news & a link",
            entities=[
                {"type": "bold", "offset": 0, "length": 4},
                {"type": "text_link", "offset": 12, "length": 6, "url": "https://x.example/"},
            ],
        )
        await bot.fake.wait_for_sent(ADMIN, count=1)  # the free-text hint
        preview, confirm = await _broadcast_reply(bot, original["message"]["message_id"])
        assert preview.text == '<b>Bold</b> news &amp; <a href="https://x.example/">a link</a>'
        ok = next(d for d in confirm.callback_data if d.startswith("bc:ok:"))
        bot.fake.user_presses(ADMIN, confirm.message_id, ok)
        await _final_report(bot, confirm)
        for user in SUBSCRIBERS:
            assert [m.text for m in bot.fake.sent(user)][-1] == preview.text
        stranger = bot.fake.user_sends(SUBSCRIBERS[0], "not the admin's words")
        reply = await _ask_reply(bot, stranger["message"]["message_id"])
        assert "one of your own messages" in reply.plain_text


async def _broadcast_reply(bot: BotHarness, message_id: int) -> tuple[SentMessage, SentMessage]:
    before = len(bot.fake.sent(ADMIN))
    bot.fake.user_sends(ADMIN, "/broadcast", reply_to_message_id=message_id)
    sent = await bot.fake.wait_for_sent(ADMIN, count=before + 2)
    return sent[before], sent[before + 1]


async def _ask_reply(bot: BotHarness, message_id: int) -> SentMessage:
    before = len(bot.fake.sent(ADMIN))
    bot.fake.user_sends(ADMIN, "/broadcast", reply_to_message_id=message_id)
    return (await bot.fake.wait_for_sent(ADMIN, count=before + 1))[before]


async def test_cancel_sends_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        await _register_everyone(bot)
        _, confirm = await _broadcast(bot, "/broadcast never mind")
        cancel = next(d for d in confirm.callback_data if d.startswith("bc:no:"))
        bot.fake.user_presses(ADMIN, confirm.message_id, cancel)
        await eventually(lambda: bool(_current(bot, confirm).edits), 5)
        assert "cancelled" in _current(bot, confirm).plain_text
        ok = cancel.replace("bc:no:", "bc:ok:")
        bot.fake.user_presses(ADMIN, confirm.message_id, ok, require_button=False)
        await eventually(lambda: len(bot.fake.callback_answers) == 2, 5)
        await bot.drained()  # a sending would be queued before the tap is answered
        assert _received(bot, "never mind") == {ADMIN: 1}


async def test_restart_mid_broadcast_completes_without_duplicates(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        await _register_everyone(bot)
        bot.fake.enforce_limits(global_per_second=10, per_chat_per_second=1.0, per_chat_burst=3)
        await bot.restart()  # the bot's own limiter is at 30/s: slow it down to catch it mid-way
        await bot.stop()
        bot.overrides["MAX_MESSAGES_PER_SECOND"] = "5"
        await bot.start()
        _, confirm = await _broadcast(bot, "/broadcast service notice")
        ok = next(d for d in confirm.callback_data if d.startswith("bc:ok:"))
        bot.fake.user_presses(ADMIN, confirm.message_id, ok)
        await eventually(lambda: len(_received(bot, "service notice")) >= 8, BROADCAST_TIMEOUT)
        await bot.stop()
        assert len(_received(bot, "service notice")) < len(SUBSCRIBERS) + 1
        await bot.start()
        report = await _final_report(bot, confirm)
        received = _received(bot, "service notice")
        assert set(received) == {*SUBSCRIBERS, ADMIN}
        assert set(received.values()) == {1}
        assert report.startswith(f"✅ Broadcast finished: {len(SUBSCRIBERS)} delivered")


async def test_feed_management(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set_feed("/news.xml", rss([make_item(n) for n in range(3)], title="Local News"))
        link = f'<link rel="alternate" type="application/rss+xml" href="{server.url("/news.xml")}">'
        page = f"<html><head>{link}</head></html>"
        server.set_feed("/index.html", page, content_type="text/html; charset=utf-8")
        server.set_feed("/plain.html", "<html><body>hi</body></html>", content_type="text/html")
        async with running_bot(tmp_path, ADMINS) as bot:
            added = await _admin_result(bot, f"/addfeed {server.url('/news.xml')}")
            assert "Added Local News (3 entries now)" in added
            again = await _admin_result(bot, f"/addfeed {server.url('/index.html')}")
            assert "Already watching that feed: 1. Local News" in again
            refused = await _admin_result(bot, f"/addfeed {server.url('/plain.html')}")
            assert "does not link to an RSS or Atom feed" in refused
            missing = await _admin_result(bot, f"/addfeed {server.url('/missing.xml')}")
            assert "HTTP 404" in missing
            ftp = await bot.ask(ADMIN, "/addfeed ftp://example.com/feed")
            assert "Only http:// and https://" in ftp.plain_text
            await _wait_feed_primed(bot)
            listing = await bot.ask(ADMIN, "/feeds")
            assert "1. Local News" in listing.plain_text
            assert server.url("/news.xml") in listing.plain_text
            assert "entries seen: 3" in listing.plain_text
            removed = await bot.ask(ADMIN, "/removefeed 1")
            assert "Removed Local News" in removed.plain_text
            assert "No feeds yet" in (await bot.ask(ADMIN, "/feeds")).plain_text
            found = await _admin_result(bot, f"/addfeed {server.url('/index.html')}")
            assert f"Found the feed {server.url('/news.xml')}" in found


async def _wait_feed_primed(bot: BotHarness) -> None:
    storage = await SqliteStorage.open(bot.database)
    try:
        for _ in range(200):
            if all(feed.primed for feed in await storage.list_feeds()):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the new feed was never polled")
    finally:
        await storage.close()


async def _admin_result(bot: BotHarness, command: str) -> str:
    """Send /addfeed and wait for its "Checking" message to be edited with the result."""
    status = await bot.ask(ADMIN, command)
    if not status.plain_text.startswith("Checking"):
        return status.plain_text
    await eventually(lambda: bool(_current(bot, status).edits), 15)
    return _current(bot, status).plain_text


async def test_addfeed_refuses_private_addresses(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set_feed("/f.xml", rss([make_item(1)]))
        async with running_bot(tmp_path, {**ADMINS, "ALLOW_PRIVATE_FEEDS": "false"}) as bot:
            refused = await _admin_result(bot, f"/addfeed {server.url('/f.xml')}")
            assert "Not added" in refused
            assert "non-public network 127.0.0.0/8" in refused
            assert server.hits("/f.xml") == 0


async def test_stats(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        await _register_everyone(bot)
        for user in SUBSCRIBERS[:4]:
            await bot.ask(user, "/subscribe Ukraine, NATO")
        await bot.ask(SUBSCRIBERS[5], "/subscribe ukraine")
        await bot.ask(SUBSCRIBERS[6], "/pause")
        stats = (await bot.ask(ADMIN, "/stats")).plain_text
        assert f"Users: {len(SUBSCRIBERS) - 1} active, 1 paused, 0 blocked" in stats
        assert "Subscriptions: 9" in stats
        assert "Top queries: Ukraine (5), NATO (4)" in stats
        assert "Feeds: 0 healthy, 0 failing" in stats
        assert "Outbox: 0 pending" in stats
        assert re.search(r"Database: [\d.]+ KB \([\d.]+ (B|KB) free inside\)", stats), stats
        assert "version" in stats
