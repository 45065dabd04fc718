"""The buttons on alerts, end to end: mute, stop and hide source, their undo, /list, and
forged or stale presses, through the Bot API fake on an injected clock."""

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.botapi_fake import SentMessage
from tests.clocks import JumpClock
from tests.e2e import POLL_TIMEOUT, BotHarness, Feeds, story, watching_bot

ANN = 3001
BOB = 3002
GROUP = -1_000_000_003_001
HOUR = 3600.0


def _message(bot: BotHarness, chat_id: int, message_id: int) -> SentMessage:
    return next(m for m in bot.fake.sent(chat_id) if m.message_id == message_id)


def _labels(message: SentMessage) -> list[str]:
    return [str(button["text"]) for button in message.buttons]


def _data(message: SentMessage, label: str) -> str:
    """The callback data of the button whose label starts with label."""
    return next(
        str(b["callback_data"]) for b in message.buttons if str(b["text"]).startswith(label)
    )


async def _press(
    bot: BotHarness, chat_id: int, message: SentMessage, data: str, *, forged: bool = False
) -> tuple[SentMessage, str | None]:
    """Press a button on message (forged: data not on it); return the message once its
    keyboard changed (unchanged when forged) and the answer the press got."""
    answers = len(bot.fake.callback_answers)
    user_id = BOB if chat_id == GROUP else chat_id  # in the group, Bob presses
    bot.fake.user_presses(
        user_id, message.message_id, data, chat_id=chat_id, require_button=not forged
    )
    await bot.fake.wait_until(lambda: len(bot.fake.callback_answers) > answers)
    if not forged:
        await bot.fake.wait_until(
            lambda: (
                _message(bot, chat_id, message.message_id).reply_markup != message.reply_markup
                or _message(bot, chat_id, message.message_id).text != message.text
            )
        )
    answer = bot.fake.callback_answers[answers].get("text")
    return _message(bot, chat_id, message.message_id), None if answer is None else str(answer)


async def _alert(bot: BotHarness, chat_id: int, title: str) -> SentMessage:
    """Wait for the alert about the story titled title."""
    await bot.fake.wait_until(
        lambda: any(m.plain_text.startswith(title) for m in bot.fake.sent(chat_id)),
        timeout=POLL_TIMEOUT,
    )
    return next(m for m in bot.fake.sent(chat_id) if m.plain_text.startswith(title))


def _titles(bot: BotHarness, chat_id: int) -> list[str]:
    return [m.plain_text.splitlines()[0] for m in bot.fake.sent(chat_id)]


async def _dealt_with(bot: BotHarness, chat_id: int, title: str) -> None:
    """Wait until the story titled title is stored and the chat's cursor is past every match
    so far: the chat's claim has decided about it (sent, or held back for good)."""

    def done() -> bool:
        with sqlite3.connect(bot.database) as db:
            stored = db.execute("SELECT 1 FROM stories WHERE title = ?", (title,)).fetchone()
            [seq] = db.execute(
                "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'story_matches'"
            ).fetchone()
            [cursor] = db.execute(
                "SELECT match_cursor FROM chats WHERE id = ?", (chat_id,)
            ).fetchone()
        return stored is not None and cursor >= seq

    await bot.fake.wait_until(done, timeout=POLL_TIMEOUT)


async def test_a_mute_holds_the_query_back_until_it_ends_and_never_sends_what_it_held(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = JumpClock()
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=clock) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/a.xml", story(1, "Ukraine one"))
        alert = await _alert(bot, ANN, "Ukraine one")
        assert _labels(alert) == ["🔕 Mute", "⛔ Stop", "🙈 Hide source"]
        choices, _ = await _press(bot, ANN, alert, _data(alert, "🔕 Mute"))
        assert _labels(choices) == ["8 h", "24 h", "A week", "« Back"]
        back, _ = await _press(bot, ANN, choices, _data(choices, "« Back"))
        assert _labels(back) == _labels(alert), "a way back to the alert's own buttons"
        choices, _ = await _press(bot, ANN, back, _data(back, "🔕 Mute"))
        confirmed, answer = await _press(bot, ANN, choices, _data(choices, "8 h"))
        [confirmation, undo] = _labels(confirmed)
        assert confirmation.startswith("🔕 Muted “Ukraine” until ")
        assert confirmation.endswith(" UTC") and answer == confirmation
        assert undo == "↩ Undo"

        feeds.publish("/a.xml", story(2, "Ukraine two, while muted"))
        await _dealt_with(bot, ANN, "Ukraine two, while muted")
        clock.jump(8 * HOUR + 1)
        feeds.publish("/a.xml", story(3, "Ukraine three, after the mute"))
        await _alert(bot, ANN, "Ukraine three, after the mute")
        assert "Ukraine two, while muted" not in _titles(bot, ANN), "held back for good"


async def test_undoing_a_mute_sends_the_next_story(tmp_path: Path, feeds: Feeds) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=JumpClock()) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/a.xml", story(1, "Ukraine one"))
        alert = await _alert(bot, ANN, "Ukraine one")
        choices, _ = await _press(bot, ANN, alert, _data(alert, "🔕 Mute"))
        confirmed, _ = await _press(bot, ANN, choices, _data(choices, "A week"))
        undone, _ = await _press(bot, ANN, confirmed, _data(confirmed, "↩ Undo"))
        # A second tap on the Undo the alert no longer shows does no harm.
        _, again = await _press(bot, ANN, undone, _data(confirmed, "↩ Undo"), forged=True)
        assert again is None
        assert _labels(undone) == ["🔕 Mute", "⛔ Stop", "🙈 Hide source"]
        listed = await bot.ask(ANN, "/list")
        assert "Muted" not in listed.plain_text
        feeds.publish("/a.xml", story(2, "Ukraine two"))
        await _alert(bot, ANN, "Ukraine two")


async def test_with_several_queries_the_reader_picks_which_to_mute_and_the_rest_still_alert(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=JumpClock()) as bot:
        await bot.ask(ANN, "/subscribe Ukraine, NATO")
        feeds.publish("/a.xml", story(1, "Ukraine and NATO meet"))
        alert = await _alert(bot, ANN, "Ukraine and NATO meet")
        chooser, _ = await _press(bot, ANN, alert, _data(alert, "🔕 Mute"))
        assert _labels(chooser) == ["🔕 NATO", "🔕 Ukraine", "« Back"]
        choices, _ = await _press(bot, ANN, chooser, _data(chooser, "🔕 Ukraine"))
        confirmed, _ = await _press(bot, ANN, choices, _data(choices, "24 h"))
        assert _labels(confirmed)[0].startswith("🔕 Muted “Ukraine” until ")

        feeds.publish("/a.xml", story(2, "Ukraine alone"))
        await _dealt_with(bot, ANN, "Ukraine alone")
        feeds.publish("/a.xml", story(3, "Ukraine with NATO again"))
        both = await _alert(bot, ANN, "Ukraine with NATO again")
        assert both.plain_text.splitlines()[-1] == "Matched: NATO", "only the unmuted query"
        assert "Ukraine alone" not in _titles(bot, ANN)


async def test_stop_unsubscribes_and_undo_resubscribes_without_what_came_between(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/a.xml", story(1, "Ukraine one"))
        alert = await _alert(bot, ANN, "Ukraine one")
        stopped, answer = await _press(bot, ANN, alert, _data(alert, "⛔ Stop"))
        assert _labels(stopped) == ["⛔ Stopped “Ukraine”", "↩ Undo"]
        assert answer == "⛔ Stopped “Ukraine”"
        assert (await bot.ask(ANN, "/list")).plain_text.startswith("You have no subscriptions")

        feeds.publish("/a.xml", story(2, "Ukraine two, while stopped"))
        await feeds.wait_polled("/a.xml", times=2)
        restored, _ = await _press(bot, ANN, stopped, _data(stopped, "↩ Undo"))
        assert _labels(restored) == ["🔕 Mute", "⛔ Stop", "🙈 Hide source"]
        assert "1. Ukraine" in (await bot.ask(ANN, "/list")).plain_text
        feeds.publish("/a.xml", story(3, "Ukraine three"))
        await _alert(bot, ANN, "Ukraine three")
        assert "Ukraine two, while stopped" not in _titles(bot, ANN)


async def test_hide_source_holds_back_that_feed_only_and_undo_shows_it_again(
    tmp_path: Path, feeds: Feeds
) -> None:
    feeds.publish("/a.xml", story(100, "Primer A"), title="Desk A")
    feeds.publish("/b.xml", story(200, "Primer B"), title="Desk B")
    async with watching_bot(tmp_path, feeds, "/a.xml", "/b.xml") as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/a.xml", story(1, "Ukraine from A"), title="Desk A")
        alert = await _alert(bot, ANN, "Ukraine from A")
        hidden, answer = await _press(bot, ANN, alert, _data(alert, "🙈 Hide source"))
        assert _labels(hidden) == ["🙈 Hidden: Desk A", "↩ Undo"] and answer == "🙈 Hidden: Desk A"

        feeds.publish("/a.xml", story(2, "Ukraine from A, hidden"), title="Desk A")
        await _dealt_with(bot, ANN, "Ukraine from A, hidden")
        feeds.publish("/b.xml", story(3, "Ukraine from B"), title="Desk B")
        await _alert(bot, ANN, "Ukraine from B")

        shown, _ = await _press(bot, ANN, hidden, _data(hidden, "↩ Undo"))
        assert _labels(shown) == ["🔕 Mute", "⛔ Stop", "🙈 Hide source"]
        feeds.publish("/a.xml", story(4, "Ukraine from A again"), title="Desk A")
        await _alert(bot, ANN, "Ukraine from A again")
        assert "Ukraine from A, hidden" not in _titles(bot, ANN)


async def test_list_shows_mutes_and_hidden_sources_and_its_buttons_undo_them(
    tmp_path: Path, feeds: Feeds
) -> None:
    feeds.publish("/a.xml", story(100, "Primer A"), title="Desk A")
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=JumpClock()) as bot:
        await bot.ask(ANN, "/subscribe Ukraine, NATO")
        feeds.publish("/a.xml", story(1, "Ukraine news"), title="Desk A")
        alert = await _alert(bot, ANN, "Ukraine news")
        choices, _ = await _press(bot, ANN, alert, _data(alert, "🔕 Mute"))
        confirmed, _ = await _press(bot, ANN, choices, _data(choices, "8 h"))
        await _press(bot, ANN, confirmed, _data(confirmed, "🔕 Muted"))  # back to the buttons
        await _press(bot, ANN, alert, _data(alert, "🙈 Hide source"))

        listed = await bot.ask(ANN, "/list")
        lines = listed.plain_text.splitlines()
        assert lines[:3] == ["Your subscriptions (2)", "1. Ukraine", "2. NATO"]
        assert "Muted" in lines and "Hidden sources" in lines
        [back] = [line for line in lines if line.startswith("• Ukraine: back ")]
        assert back.endswith(" UTC")
        assert lines[-1] == "• Desk A"
        assert _labels(listed) == ["🔔 Unmute “Ukraine”", "👁 Show “Desk A”"]

        relisted, _ = await _press(bot, ANN, listed, _data(listed, "🔔 Unmute"))
        assert "Muted" not in relisted.plain_text.splitlines()
        assert _labels(relisted) == ["👁 Show “Desk A”"]
        relisted, _ = await _press(bot, ANN, relisted, _data(relisted, "👁 Show"))
        assert "Hidden sources" not in relisted.plain_text
        assert relisted.buttons == []

        feeds.publish("/a.xml", story(2, "Ukraine later"), title="Desk A")
        await _alert(bot, ANN, "Ukraine later")


async def test_forged_or_stale_presses_are_told_the_button_expired_and_change_nothing(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=JumpClock()) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        bobs_reply = await bot.ask(BOB, "/subscribe football")  # Bob gets no alert
        bot.fake.make_admin(GROUP, BOB)
        bot.fake.user_sends(BOB, "/subscribe Ukraine", chat_id=GROUP, chat_type="group")
        await bot.fake.wait_for_sent(GROUP, count=1)
        feeds.publish("/a.xml", story(1, "Ukraine one"))
        alert = await _alert(bot, ANN, "Ukraine one")
        group_alert = await _alert(bot, GROUP, "Ukraine one")
        assert _labels(group_alert) == _labels(alert), "a group's admins tune its alerts"
        mute = _data(alert, "🔕 Mute")
        story_id = int(mute.split(":")[2])
        with sqlite3.connect(bot.database) as db:
            [bobs_id] = db.execute("SELECT id FROM subscriptions WHERE chat_id = ?", (BOB,))
            [anns_id] = db.execute("SELECT id FROM subscriptions WHERE chat_id = ?", (ANN,))
            [groups_id] = db.execute("SELECT id FROM subscriptions WHERE chat_id = ?", (GROUP,))
        forged = [
            (ANN, alert, f"tune:mu:{story_id}:{bobs_id[0]}:0"),  # Bob's subscription
            (ANN, alert, f"tune:mu:{story_id}:{anns_id[0]}:9"),  # no such duration
            (ANN, alert, f"tune:h:{story_id + 1000}:0:0"),  # a story Ann was never sent
            (ANN, alert, "tune:zz:1:0:0"),
            (ANN, alert, "tune:m:ukraine:0:0"),
            (BOB, bobs_reply, f"tune:h:{story_id}:0:0"),  # Ann's alert, pressed by Bob
            (BOB, bobs_reply, f"tune:st:{story_id}:{anns_id[0]}:0"),
            (BOB, bobs_reply, f"unmute:{anns_id[0]}"),
            (BOB, bobs_reply, "showsrc:1"),
            (GROUP, group_alert, f"tune:st:{story_id}:{anns_id[0]}:0"),  # Ann's, from the group
            (GROUP, group_alert, f"tune:mu:{story_id}:{bobs_id[0]}:0"),  # Bob's own chat's
            (ANN, alert, f"tune:mu:{story_id}:{groups_id[0]}:0"),  # the group's, from Ann
        ]
        for chat_id, message, data in forged:
            _, answer = await _press(bot, chat_id, message, data, forged=True)
            assert answer == "This button has expired.", data
        assert _message(bot, ANN, alert.message_id).reply_markup == alert.reply_markup
        with sqlite3.connect(bot.database) as db:
            assert db.execute("SELECT count(*) FROM hidden_feeds").fetchone() == (0,)
            assert db.execute(
                "SELECT count(*) FROM subscriptions WHERE muted_until IS NOT NULL"
            ).fetchone() == (0,)
            assert db.execute("SELECT count(*) FROM subscriptions").fetchone() == (3,)


async def test_a_mute_shows_when_it_ends_in_the_chats_own_time_zone(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = JumpClock()
    async with watching_bot(tmp_path, feeds, "/a.xml", clock=clock) as bot:
        await bot.ask(ANN, "/timezone Kyiv")
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/a.xml", story(1, "Ukraine one"))
        alert = await _alert(bot, ANN, "Ukraine one")
        choices, _ = await _press(bot, ANN, alert, _data(alert, "🔕 Mute"))
        confirmed, _ = await _press(bot, ANN, choices, _data(choices, "8 h"))
        until = datetime.fromtimestamp(clock() + 8 * HOUR, ZoneInfo("Europe/Kyiv"))
        zone = until.tzname()
        assert zone in ("EET", "EEST")
        assert _labels(confirmed)[0].endswith(f" {zone}")
        listed = await bot.ask(ANN, "/list")
        lines = listed.plain_text.splitlines()
        assert any(line.startswith("• Ukraine: back ") and line.endswith(zone) for line in lines)
        assert "UTC" not in listed.plain_text
