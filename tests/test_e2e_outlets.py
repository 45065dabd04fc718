"""One alert per story across outlets: copies edit the alert ("Also: …"), never send another.

Through the real bot, the local feed server and the Bot API fake, on a clock the test moves
(tests/clocks.py): the 48 h window is the clock's, not the machine's.
"""

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from tests.clocks import StoppedClock
from tests.e2e import POLL_TIMEOUT, Feeds, eventually, story, watching_bot
from tests.feedserver import Item

ANN = 2101
HOUR = 3600.0
ORIGINAL = "Ukraine and Russia agree to a new round of peace talks in Geneva"
REWORDED = "Ukraine, Russia agree to new round of peace talks in Geneva"


def _at(clock: StoppedClock, n: int, title: str, link: str) -> Item:
    """A story published at the clock's now (so it is fresh enough to alert)."""
    item = story(n, title, link=link)
    item["pub_date"] = datetime.fromtimestamp(clock.now, UTC)
    return item


def _edit_rows(database: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return list(db.execute("SELECT status, generation FROM alert_edits"))


async def test_a_story_from_three_outlets_is_one_alert_edited_twice(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    for path, title in (("/ap.xml", "AP"), ("/reuters.xml", "Reuters"), ("/bbc.xml", "BBC")):
        feeds.publish(path, story(0, f"Primer of {path}"), title=title)
    async with watching_bot(
        tmp_path, feeds, "/ap.xml", "/reuters.xml", "/bbc.xml", clock=clock
    ) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish(
            "/ap.xml", _at(clock, 1, ORIGINAL, "https://ap.example/peace-talks"), title="AP"
        )
        sent = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        alert = sent[1]
        assert alert.plain_text.startswith(ORIGINAL)
        assert "Also:" not in alert.plain_text
        keyboard = alert.reply_markup

        # Another outlet, another link, a near-identical title, an hour later.
        clock.advance(HOUR)
        feeds.publish(
            "/reuters.xml",
            _at(clock, 2, REWORDED, "https://reuters.example/world/talks"),
            title="Reuters",
        )
        await eventually(lambda: len(bot.fake.sent(ANN)[1].edits) == 1, POLL_TIMEOUT)
        edited = bot.fake.sent(ANN)[1]
        assert edited.plain_text.splitlines()[-1] == "Also: Reuters"
        links = [e["url"] for e in edited.entities if e["type"] == "text_link"]
        assert links[-1] == "https://reuters.example/world/talks"
        assert edited.reply_markup == keyboard, "the alert keeps its buttons"

        # A third outlet with the original's link (tracking junk added) and its own title.
        clock.advance(HOUR)
        feeds.publish(
            "/bbc.xml",
            _at(
                clock,
                3,
                "Peace talks: both sides to meet again",
                "https://AP.example/peace-talks?utm_source=bbc",
            ),
            title="BBC",
        )
        await eventually(lambda: len(bot.fake.sent(ANN)[1].edits) == 2, POLL_TIMEOUT)
        edited = bot.fake.sent(ANN)[1]
        assert edited.plain_text.splitlines()[-1] == "Also: Reuters, BBC"
        links = [e["url"] for e in edited.entities if e["type"] == "text_link"]
        assert links[-2:] == [
            "https://reuters.example/world/talks",
            "https://AP.example/peace-talks?utm_source=bbc",
        ]
        assert edited.reply_markup == keyboard

        await bot.settle(feeds, "/ap.xml", "/reuters.xml", "/bbc.xml")
        assert len(bot.fake.sent(ANN)) == 2, "one alert for the story, edited, never resent"
        assert len(bot.fake.sent(ANN)[1].edits) == 2
        # The two outlets shared one edit row.
        await eventually(lambda: _edit_rows(bot.database) == [("done", 2)], POLL_TIMEOUT)


async def test_a_deleted_alert_is_not_edited_and_nothing_is_sent_again(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    feeds.publish("/ap.xml", story(0, "Primer"), title="AP")
    feeds.publish("/reuters.xml", story(0, "Primer"), title="Reuters")
    async with watching_bot(tmp_path, feeds, "/ap.xml", "/reuters.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/ap.xml", _at(clock, 1, ORIGINAL, "https://ap.example/1"), title="AP")
        alert = (await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT))[1]
        bot.fake.user_deletes_message(ANN, alert.message_id)
        feeds.publish(
            "/reuters.xml", _at(clock, 2, REWORDED, "https://r.example/2"), title="Reuters"
        )
        await eventually(lambda: _edit_rows(bot.database) == [("failed", 1)], POLL_TIMEOUT)
        await bot.settle(feeds, "/ap.xml", "/reuters.xml")
        assert len(bot.fake.sent(ANN)) == 2, "no second alert for the copy"
        assert [e[:2] for e in bot.fake.errors] == [("editMessageText", 400)], "tried once"


async def test_an_edit_telegram_asks_to_wait_for_goes_once_the_wait_is_over(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    feeds.publish("/ap.xml", story(0, "Primer"), title="AP")
    feeds.publish("/reuters.xml", story(0, "Primer"), title="Reuters")
    async with watching_bot(tmp_path, feeds, "/ap.xml", "/reuters.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/ap.xml", _at(clock, 1, ORIGINAL, "https://ap.example/1"), title="AP")
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        bot.fake.fail_next("editMessageText", status=429, retry_after=30, chat_id=ANN)
        feeds.publish(
            "/reuters.xml", _at(clock, 2, REWORDED, "https://r.example/2"), title="Reuters"
        )
        await eventually(lambda: bool(bot.fake.errors), POLL_TIMEOUT)
        await feeds.wait_polled("/reuters.xml", times=2)
        assert bot.fake.sent(ANN)[1].edits == [], "nothing before Telegram's 30 s are over"
        clock.advance(30)
        await eventually(lambda: len(bot.fake.sent(ANN)[1].edits) == 1, POLL_TIMEOUT)
        assert bot.fake.sent(ANN)[1].plain_text.endswith("Also: Reuters")
        # Recorded once Telegram has answered.
        await eventually(lambda: _edit_rows(bot.database) == [("done", 1)], POLL_TIMEOUT)


async def test_a_copy_that_arrives_while_its_alert_is_in_flight_still_edits_it(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    feeds.publish("/ap.xml", story(0, "Primer"), title="AP")
    feeds.publish("/reuters.xml", story(0, "Primer"), title="Reuters")
    async with watching_bot(tmp_path, feeds, "/ap.xml", "/reuters.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        # Telegram has the alert, the bot does not know yet: rendered before the copy came.
        bot.fake.hold_answers("sendMessage")
        feeds.publish("/ap.xml", _at(clock, 1, ORIGINAL, "https://ap.example/1"), title="AP")
        alert = (await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT))[1]
        assert "Also:" not in alert.plain_text
        feeds.publish(
            "/reuters.xml", _at(clock, 2, REWORDED, "https://r.example/2"), title="Reuters"
        )
        await eventually(lambda: _edit_rows(bot.database) == [("pending", 1)], POLL_TIMEOUT)
        bot.fake.release_answers("sendMessage")
        await eventually(lambda: len(bot.fake.sent(ANN)[1].edits) == 1, POLL_TIMEOUT)
        assert bot.fake.sent(ANN)[1].plain_text.endswith("Also: Reuters")
        await bot.settle(feeds, "/ap.xml", "/reuters.xml")
        assert len(bot.fake.sent(ANN)) == 2


async def test_generic_titles_from_two_outlets_are_two_stories(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    feeds.publish("/ap.xml", story(0, "Primer"), title="AP")
    feeds.publish("/reuters.xml", story(0, "Primer"), title="Reuters")
    async with watching_bot(tmp_path, feeds, "/ap.xml", "/reuters.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        first = "Ukraine live updates: day 1,000"
        feeds.publish("/ap.xml", _at(clock, 1, first, "https://ap.example/live"), title="AP")
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        second = "Ukraine live updates: day 1,000 latest"
        feeds.publish(
            "/reuters.xml", _at(clock, 2, second, "https://reuters.example/live"), title="Reuters"
        )
        sent = await bot.fake.wait_for_sent(ANN, count=3, timeout=POLL_TIMEOUT)
        assert sent[2].plain_text.startswith(second)
        assert sent[1].edits == []
