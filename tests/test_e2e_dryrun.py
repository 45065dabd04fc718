"""/try through the real bot: the count live matching gave, the newest stories, a button."""

from pathlib import Path

from bot.storage.sqlite import SqliteStorage
from tests.e2e import POLL_TIMEOUT, Feeds, story, watching_bot

ANN = 2101
BOB = 2102


async def test_try_answers_what_live_matching_sent_and_subscribes_on_a_tap(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/world.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish(
            "/world.xml",
            story(1, "Ukraine talks resume"),
            story(2, "Football results of the weekend"),
            story(3, "Переговори щодо України тривають"),
            story(4, "Ukrainian grain reaches port"),
            title="World Desk",
        )
        # Live matching: the subscriber gets the two Ukraine stories (the Ukrainian one
        # through its inflected name), nothing else.
        await bot.fake.wait_for_sent(ANN, count=3, timeout=POLL_TIMEOUT)
        await bot.settle(feeds, "/world.xml")
        alerts = [m.plain_text for m in bot.fake.sent(ANN)[1:]]
        assert len(alerts) == 2
        assert {a.splitlines()[0] for a in alerts} == {
            "Ukraine talks resume",
            "Переговори щодо України тривають",
        }

        tried = await bot.ask(BOB, "/try Ukraine")
        assert "Ukraine would have matched 2 stories in the last 7 days." in tried.plain_text
        lines = tried.plain_text.splitlines()
        newest = lines.index("The newest:")
        assert lines[newest + 1] == "1. Переговори щодо України тривають"
        assert lines[newest + 2].strip().startswith("World Desk · ")
        assert lines[newest + 3] == "2. Ukraine talks resume"
        links = [e["url"] for e in tried.entities if e["type"] == "text_link"]
        assert links == [
            "https://news.example/story/3?utm_source=rss",
            "https://news.example/story/1?utm_source=rss",
        ]
        assert [b["text"] for b in tried.buttons] == ["➕ Subscribe to Ukraine"]

        prefix = await bot.ask(BOB, "/try ukrain* -grain")
        assert "would have matched 1 story in the last 7 days" in prefix.plain_text
        nothing = await bot.ask(BOB, '/try "Vladimir Putin"')
        assert "would not have matched any story of the last 7 days" in nothing.plain_text
        assert [b["text"] for b in nothing.buttons] == ['➕ Subscribe to "Vladimir Putin"']

        # Nothing was stored by trying; the button subscribes exactly as /subscribe would.
        storage = await SqliteStorage.open(bot.database)
        try:
            assert await storage.list_subscriptions(BOB) == []
        finally:
            await storage.close()
        before = len(bot.fake.sent(BOB))
        bot.fake.user_presses(BOB, tried.message_id, tried.callback_data[0])
        [report] = (await bot.fake.wait_for_sent(BOB, count=before + 1))[before:]
        assert "Ukraine" in report.plain_text
        storage = await SqliteStorage.open(bot.database)
        try:
            [subscription] = await storage.list_subscriptions(BOB)
            assert subscription.display == "Ukraine"
        finally:
            await storage.close()
        again = await bot.ask(BOB, "/try Ukraine")
        assert "You are already subscribed to it." in again.plain_text
        assert again.buttons == []


async def test_try_explains_what_it_cannot_use(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/world.xml") as bot:
        bare = await bot.ask(ANN, "/try")
        assert "Send a query after /try" in bare.plain_text
        refused = await bot.ask(ANN, "/try -football")
        assert refused.plain_text.startswith("🔎 -football is not a query I can use: ")
        assert "say what stories you want too" in refused.plain_text
        several = await bot.ask(ANN, "/try Ukraine, NATO")
        assert "Try one query at a time" in several.plain_text
