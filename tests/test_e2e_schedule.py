"""A chat's delivery schedule through the real bot: time zone, quiet hours, digest times.

The delivery worker runs on a StoppedClock set to chosen nights in Kyiv; the test moves it
and waits on what the bot does (rows queued, messages sent), never on the wall clock.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.i18n import t
from bot.render.schedule import quiet_off
from bot.storage import PendingRow
from bot.storage.sqlite import SqliteStorage
from tests.clocks import StoppedClock
from tests.e2e import POLL_TIMEOUT, BotHarness, Feeds, story, watching_bot

ANN = 2101


def utc(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


async def held_rows(bot: BotHarness, chat_id: int, count: int) -> list[PendingRow]:
    """Wait until the chat has `count` pending outbox rows; return them."""
    storage = await SqliteStorage.open(bot.database)
    try:
        deadline = asyncio.get_running_loop().time() + POLL_TIMEOUT
        while True:
            rows = [row for row in await storage.pending_outbox() if row.chat_id == chat_id]
            if len(rows) >= count:
                return rows
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(rows)} rows pending for {chat_id}, not {count}")
            await asyncio.sleep(0.02)
    finally:
        await storage.close()


async def test_a_quiet_night_across_midnight_in_kyiv_with_the_clocks_going_forward(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    clock.now = utc(2027, 3, 27, 20, 30)  # 22:30 in Kyiv (EET); at 03:00 it becomes 04:00
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        assert "Europe/Kyiv" in (await bot.ask(ANN, "/timezone kyiv")).plain_text
        assert "23:00–07:00" in (await bot.ask(ANN, "/quiet 23:00-07:00")).plain_text
        before = len(bot.fake.sent(ANN))

        clock.now = utc(2027, 3, 27, 21, 30)  # 23:30 EET: quiet
        feeds.publish("/a.xml", story(1, "Ukraine before midnight"))
        await held_rows(bot, ANN, 1)
        clock.now = utc(2027, 3, 28, 0, 30)  # 02:30 EET
        feeds.publish("/a.xml", story(2, "Ukraine in the small hours"))
        await held_rows(bot, ANN, 2)
        clock.now = utc(2027, 3, 28, 1, 30)  # 04:30 EEST: the clocks went forward
        feeds.publish("/a.xml", story(3, "Ukraine after the clocks changed"))
        rows = await held_rows(bot, ANN, 3)
        seven_am = utc(2027, 3, 28, 4, 0)  # 07:00 EEST
        assert {(row.kind, row.next_attempt_at) for row in rows} == {("digest", seven_am)}

        clock.now = seven_am - 60
        await feeds.wait_polled("/a.xml", times=2)
        assert len(bot.fake.sent(ANN)) == before, "nothing goes during quiet hours"

        clock.now = seven_am
        sent = await bot.fake.wait_for_sent(ANN, count=before + 1, timeout=POLL_TIMEOUT)
        digest = sent[before].plain_text
        assert digest.startswith("Your digest: 3 new stories")
        for title in (
            "Ukraine before midnight",
            "Ukraine in the small hours",
            "Ukraine after the clocks changed",
        ):
            assert title in digest
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == before + 1, "one digest at the window's end"

        # Daytime: alerts go at once again.
        clock.now = utc(2027, 3, 28, 9, 0)
        feeds.publish("/a.xml", story(4, "Ukraine by day"))
        sent = await bot.fake.wait_for_sent(ANN, count=before + 2, timeout=POLL_TIMEOUT)
        assert sent[-1].plain_text.startswith("Ukraine by day")


async def test_two_digest_times_each_send_one_digest_grouped_by_query(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    clock.now = utc(2027, 6, 1, 4, 0)  # 07:00 in Kyiv (EEST)
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine, NATO")
        await bot.ask(ANN, "/timezone Europe/Kyiv")
        assert "08:00, 18:00" in (await bot.ask(ANN, "/digest 18:00,08:00")).plain_text
        before = len(bot.fake.sent(ANN))

        feeds.publish("/a.xml", story(1, "Ukraine talks open"))
        [row] = await held_rows(bot, ANN, 1)
        assert row.next_attempt_at == utc(2027, 6, 1, 5, 0)
        clock.now = utc(2027, 6, 1, 5, 0)  # 08:00
        sent = await bot.fake.wait_for_sent(ANN, count=before + 1, timeout=POLL_TIMEOUT)
        assert "Ukraine talks open" in sent[-1].plain_text

        clock.now = utc(2027, 6, 1, 9, 0)  # 12:00
        feeds.publish("/a.xml", story(2, "NATO summit agenda"))
        await held_rows(bot, ANN, 1)
        feeds.publish("/a.xml", story(3, "Ukraine aid vote"))
        rows = await held_rows(bot, ANN, 2)
        assert {row.next_attempt_at for row in rows} == {utc(2027, 6, 1, 15, 0)}

        # The bot is down at 18:00; what was due goes when it is back.
        await bot.stop()
        clock.now = utc(2027, 6, 1, 16, 30)  # 19:30
        await bot.start()
        sent = await bot.fake.wait_for_sent(ANN, count=before + 2, timeout=POLL_TIMEOUT)
        lines = sent[-1].plain_text.splitlines()
        assert lines == [
            "Your digest: 2 new stories matching your subscriptions:",
            "NATO",
            "1. NATO summit agenda",
            "Ukraine",
            "2. Ukraine aid vote",
        ]
        await bot.settle(feeds, "/a.xml")
        assert len(bot.fake.sent(ANN)) == before + 2, "one digest at each time, nothing twice"


async def test_timezone_names_settings_and_turning_digests_off(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = StoppedClock()
    clock.now = utc(2027, 6, 1, 4, 0)
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=clock) as bot:
        shown = (await bot.ask(ANN, "/timezone")).plain_text
        assert "UTC" in shown
        assert (await bot.ask(ANN, "/timezone kyiv")).plain_text == t(
            "✅ Time zone set to {zone}. Quiet hours and digest times follow it.",
            zone="Europe/Kyiv",
        )
        unknown = (await bot.ask(ANN, "/timezone Kyev")).plain_text
        assert unknown.startswith("I don't know the time zone “Kyev”. Did you mean:")
        assert "Europe/Kyiv" in unknown
        nowhere = (await bot.ask(ANN, "/timezone Atlantis")).plain_text
        assert nowhere.startswith("I don't know the time zone “Atlantis”.")
        assert "Europe/Kyiv" in (await bot.ask(ANN, "/timezone")).plain_text
        assert (await bot.ask(ANN, "/quiet soon")).plain_text.startswith("Send the quiet hours")
        assert (await bot.ask(ANN, "/digest 8am")).plain_text.startswith("Send up to 6")
        assert "22:00–06:00" in (await bot.ask(ANN, "/quiet 22:00-06:00")).plain_text
        assert (await bot.ask(ANN, "/quiet OFF")).plain_text == quiet_off()

        await bot.ask(ANN, "/subscribe Ukraine")
        await bot.ask(ANN, "/digest 18:00")
        feeds.publish("/a.xml", story(1, "Ukraine held for the evening"))
        await held_rows(bot, ANN, 1)
        view = await bot.ask(ANN, "/settings")
        assert "Time zone: Europe/Kyiv" in view.plain_text
        assert "Digests: 18:00" in view.plain_text
        assert "Quiet hours: off" in view.plain_text
        [button] = view.buttons
        assert button["callback_data"] == "sched:digestoff"
        before = len(bot.fake.sent(ANN))

        bot.fake.user_presses(ANN, view.message_id, "sched:digestoff")
        # Digests off: what was held goes now, and the settings say so in place.
        sent = await bot.fake.wait_for_sent(ANN, count=before + 1, timeout=POLL_TIMEOUT)
        assert "Ukraine held for the evening" in sent[-1].plain_text
        await bot.fake.wait_until(lambda: bool(bot.fake.sent(ANN)[before - 1].edits))
        edited = bot.fake.sent(ANN)[before - 1]
        assert "Digests: off (instant alerts)" in edited.plain_text
        assert edited.buttons == []
        await bot.drained()
