"""Sharper queries end to end: source: filters and the publisher's categories, through the bot."""

from pathlib import Path

from tests.e2e import POLL_TIMEOUT, Feeds, story, watching_bot

ANN = 2101
BOB = 2102
CAROL = 2103


async def test_a_source_filter_keeps_one_outlets_story_and_drops_the_others(
    tmp_path: Path, feeds: Feeds
) -> None:
    feeds.publish("/bbc.xml", story(1, "Primer from the BBC"), title="BBC News - World")
    feeds.publish("/wire.xml", story(2, "Primer from the wire"), title="Daily Wire Service")
    async with watching_bot(tmp_path, feeds, "/bbc.xml", "/wire.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine source:BBC")
        await bot.ask(BOB, "/subscribe Ukraine -source:bbc")
        await bot.ask(CAROL, "/subscribe source:bbc")
        feeds.publish("/bbc.xml", story(3, "Ukraine talks resume"), title="BBC News - World")
        feeds.publish(
            "/wire.xml", story(4, "Ukraine grain deal signed"), title="Daily Wire Service"
        )
        ann = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        bob = await bot.fake.wait_for_sent(BOB, count=2, timeout=POLL_TIMEOUT)
        carol = await bot.fake.wait_for_sent(CAROL, count=2, timeout=POLL_TIMEOUT)
        await bot.settle(feeds, "/bbc.xml", "/wire.xml")
        assert [m.plain_text.splitlines()[0] for m in bot.fake.sent(ANN)[1:]] == [
            "Ukraine talks resume"
        ]
        assert ann[1].plain_text.splitlines()[-1] == "Matched: Ukraine source:BBC"
        assert [m.plain_text.splitlines()[0] for m in bot.fake.sent(BOB)[1:]] == [
            "Ukraine grain deal signed"
        ]
        assert bob[1].plain_text.splitlines()[1].startswith("Daily Wire Service · ")
        assert [m.plain_text.splitlines()[0] for m in bot.fake.sent(CAROL)[1:]] == [
            "Ukraine talks resume"
        ]
        assert carol[1].plain_text.splitlines()[-1] == "Matched: source:bbc"
        # /try reads the outlet as live matching did: the same stories, counted.
        tried = await bot.ask(ANN, "/try Ukraine source:bbc")
        assert "would have matched 1 story in the last 7 days" in tried.plain_text
        assert "1. Ukraine talks resume" in tried.plain_text
        tried = await bot.ask(ANN, "/try Ukraine -source:bbc")
        assert "would have matched 1 story in the last 7 days" in tried.plain_text
        assert "1. Ukraine grain deal signed" in tried.plain_text
        tried = await bot.ask(ANN, "/try source:wire")
        assert "would have matched 1 story in the last 7 days" in tried.plain_text


async def test_an_invalid_near_gets_a_friendly_answer_and_stores_nothing(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        reply = await bot.ask(ANN, "/subscribe Putin NEAR/3 Trump NEAR/3 Xi")
        assert "a chain like a NEAR/3 b NEAR/3 c is not supported" in reply.plain_text
        assert "Traceback" not in reply.plain_text
        listed = await bot.ask(ANN, "/list")
        assert "NEAR" not in listed.plain_text
        await bot.ask(ANN, "/subscribe Putin NEAR/3 Trump")
        feeds.publish("/a.xml", story(5, "Trump says he will call Putin"))
        far_apart = "Putin spoke first; hours later, in another city, Trump answered"
        feeds.publish("/a.xml", story(6, "Two speeches", f"<p>{far_apart}.</p>"))
        sent = await bot.fake.wait_for_sent(ANN, count=4, timeout=POLL_TIMEOUT)
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 4
        assert sent[3].plain_text.splitlines()[0] == "Trump says he will call Putin"
        assert sent[3].plain_text.splitlines()[-1] == "Matched: Putin NEAR/3 Trump"
        tried = await bot.ask(ANN, "/try Trump NEAR/3 Putin")
        assert "would have matched 1 story in the last 7 days" in tried.plain_text
        assert "1. Trump says he will call Putin" in tried.plain_text


async def test_a_story_reaches_a_reader_through_its_category_alone(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe election")
        tagged = story(7, "Vote count goes on", "<p>Officials counted ballots all night.</p>")
        tagged["categories"] = ["Elections", "World"]
        feeds.publish("/a.xml", tagged, story(8, "Vote count stalls"))
        sent = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == 2, "the untagged story matches nothing"
        alert = sent[1].plain_text
        assert alert.splitlines()[0] == "Vote count goes on"
        assert "Elections" not in alert, "the categories are not shown to the reader"
        assert alert.splitlines()[-1] == "Matched: election"
