"""Admins import and export the feed list as OPML, through the Bot API fake and local feeds."""

import asyncio
from pathlib import Path

from bot.ingest.opml import MAX_OPML_BYTES, OpmlFeed, read_opml
from bot.storage import Feed
from bot.storage.sqlite import SqliteStorage
from tests.botapi_fake import SentMessage
from tests.e2e import BotHarness, eventually, running_bot
from tests.feedserver import FeedServer, make_item, rss
from tests.test_opml import BILLION_LAUGHS

ADMIN = 9001
USER = 5001
ADMINS = {"ADMIN_IDS": str(ADMIN)}
IMPORT_TIMEOUT = 20.0


def _opml(*outlines: str) -> bytes:
    body = "\n".join(outlines)
    return f'<?xml version="1.0"?><opml version="2.0"><body>{body}</body></opml>'.encode()


def _serve_feeds(server: FeedServer) -> None:
    server.set_feed("/alpha.xml", rss([make_item(n) for n in range(2)], title="Alpha Own Title"))
    server.set_feed("/beta.xml", rss([make_item(n) for n in range(3)], title="Beta"))
    server.set_feed("/gamma.xml", rss([make_item(1)], title="Gamma"))
    server.set_feed("/untitled.xml", rss([make_item(1)], title=""))
    link = f'<link rel="alternate" type="application/rss+xml" href="{server.url("/gamma.xml")}">'
    server.set_feed("/page.html", f"<html><head>{link}</head></html>", content_type="text/html")
    server.set_feed("/plain.html", "<html><body>hi</body></html>", content_type="text/html")


def _current(bot: BotHarness, message: SentMessage) -> SentMessage:
    return next(m for m in bot.fake.sent(message.chat_id) if m.message_id == message.message_id)


async def _import(bot: BotHarness, user: int, data: bytes, **options: object) -> str:
    """Send data as a document captioned /importfeeds (or as options say); return the text
    the bot's status message ends with (the report's first part, or why nothing happened)."""
    already = len(bot.fake.sent(user))
    caption = options.pop("caption", "/importfeeds")
    assert caption is None or isinstance(caption, str)
    bot.fake.user_sends_document(user, data, "feeds.opml", caption=caption, **options)  # type: ignore[arg-type]
    [status] = (await bot.fake.wait_for_sent(user, count=already + 1))[already:]
    return await _finished(bot, status)


async def _finished(bot: BotHarness, status: SentMessage) -> str:
    """Wait until the status message no longer says the import is under way; return it."""

    def finished() -> bool:
        text = _current(bot, status).plain_text
        return not text.startswith(("Reading", "Checking", "Читаю", "Перевіряю"))

    await eventually(finished, IMPORT_TIMEOUT)
    return _current(bot, status).plain_text


async def _feeds(bot: BotHarness) -> list[Feed]:
    storage = await SqliteStorage.open(bot.database)
    try:
        return await storage.list_feeds()
    finally:
        await storage.close()


async def test_import_checks_each_feed_like_addfeed_then_export_round_trips(
    tmp_path: Path,
) -> None:
    with FeedServer() as server:
        _serve_feeds(server)
        watched = server.url("/beta.xml")
        opml = _opml(
            '<outline text="World">',
            f'  <outline text="Alpha" title="Mine" xmlUrl="{server.url("/alpha.xml")}"/>',
            '  <outline text="Nested">',
            f'    <outline text="Beta again" xmlUrl="{watched}"/>',
            "  </outline>",
            "</outline>",
            f'<outline text="A page" xmlUrl="{server.url("/page.html")}"/>',
            f'<outline text="Named in the list" xmlUrl="{server.url("/untitled.xml")}"/>',
            f'<outline text="Not a feed" xmlUrl="{server.url("/plain.html")}"/>',
            f'<outline text="Gone" xmlUrl="{server.url("/missing.xml")}"/>',
            '<outline text="FTP" xmlUrl="ftp://example.com/feed"/>',
        )
        async with running_bot(tmp_path, {**ADMINS, "FEED_URLS": watched}) as bot:
            report = await _import(bot, ADMIN, opml)
            assert report.startswith("Import finished: 3 added, 1 already watched, 3 refused.\n"), (
                report
            )
            # The feed's own title wins (each poll refreshes it); the list's is kept for a feed
            # without one.
            assert f"• Alpha Own Title ({server.url('/alpha.xml')})" in report
            assert f"• Named in the list ({server.url('/untitled.xml')})" in report
            # The page was searched for its feed, and the feed's URL is what is watched.
            assert f"• Gamma ({server.url('/gamma.xml')})" in report
            assert f"Already watched:\n• Beta again ({watched})" in report
            assert f"• {server.url('/plain.html')}: " in report
            assert "does not link to an RSS or Atom feed" in report
            assert f"{server.url('/missing.xml')}: HTTP 404 Not Found" in report
            assert "• ftp://example.com/feed: Only http:// and https:// feed URLs" in report
            await _wait_polled(bot)
            feeds = await _feeds(bot)
            assert [(feed.url, feed.title) for feed in feeds] == [
                (watched, "Beta"),
                (server.url("/alpha.xml"), "Alpha Own Title"),
                (server.url("/gamma.xml"), "Gamma"),
                (server.url("/untitled.xml"), "Named in the list"),
            ]
            assert not any(feed.trusted for feed in feeds[1:])

            exported = await _export(bot)
            assert exported.plain_text == "4 feeds, as OPML."
            assert exported.document is not None
            assert exported.document["file_name"].endswith(".opml")
            listed = read_opml(bot.fake.file_bytes(exported.document["file_id"]))
            assert listed == [OpmlFeed(feed.url, feed.title) for feed in feeds]

            # The exported file, imported again by replying to it: nothing new, nothing fetched.
            hits = server.hits("/alpha.xml")
            data = bot.fake.file_bytes(exported.document["file_id"])
            document = bot.fake.user_sends_document(ADMIN, data, "exported.opml", caption=None)
            again = await _ask_import(bot, ADMIN, reply_to=document["message"]["message_id"])
            assert again.startswith("Import finished: 0 added, 4 already watched, 0 refused."), (
                again
            )
            assert server.hits("/alpha.xml") == hits
            assert len(await _feeds(bot)) == 4


async def _wait_polled(bot: BotHarness) -> None:
    """Wait until every feed had its first poll (which stores the feed's own title)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IMPORT_TIMEOUT
    while not all(feed.primed for feed in await _feeds(bot)):
        assert loop.time() < deadline, "a feed was never polled"
        await asyncio.sleep(0.05)


async def _export(bot: BotHarness, language_code: str | None = None) -> SentMessage:
    already = len(bot.fake.sent(ADMIN))
    bot.fake.user_sends(ADMIN, "/exportfeeds", language_code=language_code)
    return (await bot.fake.wait_for_sent(ADMIN, count=already + 1))[already]


async def _ask_import(bot: BotHarness, user: int, *, reply_to: int | None = None) -> str:
    """Send /importfeeds (replying to reply_to) as text; return how the bot's answer ends."""
    already = len(bot.fake.sent(user))
    bot.fake.user_sends(user, "/importfeeds", reply_to_message_id=reply_to)
    [status] = (await bot.fake.wait_for_sent(user, count=already + 1))[already:]
    return await _finished(bot, status)


async def test_bad_files_and_bad_askers_change_nothing(tmp_path: Path) -> None:
    with FeedServer() as server:
        _serve_feeds(server)
        good = _opml(f'<outline text="Alpha" xmlUrl="{server.url("/alpha.xml")}"/>')
        async with running_bot(tmp_path, ADMINS) as bot:
            refused = await _import(bot, USER, good)
            assert refused == "Sorry, that command is for the bot's admins."
            usage = await _ask_import(bot, ADMIN)
            assert usage.startswith("Attach an OPML file (.opml) with /importfeeds as its caption")
            # A reply to a message without a document is no import either.
            before = len(bot.fake.sent(ADMIN))
            text = bot.fake.user_sends(ADMIN, "just words")["message"]["message_id"]
            await bot.fake.wait_for_sent(ADMIN, count=before + 1)  # the hint towards /help
            assert (await _ask_import(bot, ADMIN, reply_to=text)).startswith("Attach an OPML")
            bomb = await _import(bot, ADMIN, BILLION_LAUGHS)
            assert bomb == (
                "❌ Nothing imported: The file declares a DTD or entities, "
                "which are refused for safety."
            )
            rss_file = await _import(bot, ADMIN, rss([make_item(1)]).encode())
            assert rss_file.startswith("❌ Nothing imported: This is XML but not OPML")
            # Too big is refused from the size Telegram reports, before any download.
            huge = await _import(bot, ADMIN, good + b" " * MAX_OPML_BYTES)
            assert huge == "❌ That file is 1024 KB; an OPML list may be at most 1024 KB."
            assert bot.fake.count_requests("getFile") == 2  # the bomb and the RSS file
            assert await _feeds(bot) == []
            assert server.hits("/alpha.xml") == 0
            # A caption addressed to the bot by name works too.
            named = await _import(bot, ADMIN, good, caption="/importfeeds@newshound_test_bot")
            assert named.startswith("Import finished: 1 added"), named


async def test_a_failed_download_is_reported(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        bot.fake.fail_next("getFile", status=400, description="Bad Request: file is too big")
        failed = await _import(bot, ADMIN, _opml('<outline xmlUrl="https://x.example/rss"/>'))
        assert failed == "❌ Could not download the file from Telegram. Please send it again."


async def test_import_keeps_the_ssrf_guard(tmp_path: Path) -> None:
    with FeedServer() as server:
        _serve_feeds(server)
        local = _opml(f'<outline text="Alpha" xmlUrl="{server.url("/alpha.xml")}"/>')
        async with running_bot(tmp_path, {**ADMINS, "ALLOW_PRIVATE_FEEDS": "false"}) as bot:
            report = await _import(bot, ADMIN, local)
            assert report.startswith("Import finished: 0 added, 0 already watched, 1 refused.")
            assert "non-public network 127.0.0.0/8" in report
            assert server.hits("/alpha.xml") == 0
            assert await _feeds(bot) == []


async def test_import_and_export_speak_the_admins_language(tmp_path: Path) -> None:
    with FeedServer() as server:
        _serve_feeds(server)
        good = _opml(f'<outline text="Alpha" xmlUrl="{server.url("/alpha.xml")}"/>')
        async with running_bot(tmp_path, ADMINS) as bot:
            report = await _import(bot, ADMIN, good, language_code="uk")
            assert report.startswith("Імпорт завершено: додано 1, уже відстежуються 0"), report
            exported = await _export(bot, language_code="uk")
            assert exported.plain_text == "1 стрічка у форматі OPML."
            assert exported.document is not None
            assert b"<title>\xd0\xa1\xd1\x82\xd1\x80\xd1\x96\xd1\x87\xd0\xba\xd0\xb8 Newshound" in (
                bot.fake.file_bytes(exported.document["file_id"])
            )


async def test_an_export_asked_to_wait_is_sent_after_the_wait(tmp_path: Path) -> None:
    with FeedServer() as server:
        _serve_feeds(server)
        good = _opml(f'<outline text="Alpha" xmlUrl="{server.url("/alpha.xml")}"/>')
        async with running_bot(tmp_path, ADMINS) as bot:
            await _import(bot, ADMIN, good)
            bot.fake.fail_next("sendDocument", status=429, retry_after=1, chat_id=ADMIN)
            exported = await _export(bot)
            assert exported.plain_text == "1 feed, as OPML."
            assert exported.document is not None
            assert [error[:2] for error in bot.fake.errors] == [("sendDocument", 429)]


async def test_export_with_no_feeds_says_so(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ADMINS) as bot:
        empty = await _export(bot)
        assert empty.document is None
        assert empty.plain_text == "No feeds to export yet. Add one with /addfeed <URL>."
