"""A user drives every subscriber command through the real PTB client and the Bot API fake."""

import gc
from pathlib import Path

from bot.storage import ChatStatus
from bot.storage.sqlite import SqliteStorage
from tests.e2e import BotHarness, running_bot

ANN = 1001
BOB = 1002


async def _stored_queries(harness: BotHarness, user_id: int) -> list[str]:
    storage = await SqliteStorage.open(harness.database)
    try:
        return [s.query for s in await storage.list_subscriptions(user_id)]
    finally:
        await storage.close()


async def test_start_help_and_command_menu(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        commands = [c["command"] for c in bot.fake.commands()]
        assert {"subscribe", "unsubscribe", "list", "pause", "resume", "help"} <= set(commands)
        welcome = await bot.ask(ANN, "/start")
        assert "Hello, Ann" in welcome.plain_text
        assert "/subscribe Ukraine" in welcome.plain_text
        assert welcome.parse_mode == "HTML"
        help_text = await bot.ask(ANN, "/help")
        for command in ("/subscribe", "/unsubscribe", "/list", "/pause", "/resume"):
            assert command in help_text.plain_text
        assert '"Joe Biden"' in help_text.plain_text
        assert "Kyiv OR Kiev" in help_text.plain_text


async def test_what_the_bot_loaded_is_kept_from_the_collector_while_it_runs(
    tmp_path: Path,
) -> None:
    """A full collection would walk the subscription index with the GIL held (bot/app.py)."""
    async with running_bot(tmp_path) as bot:
        assert gc.get_freeze_count() > 0
        assert "Hello, Ann" in (await bot.ask(ANN, "/start")).plain_text
    assert gc.get_freeze_count() == 0


async def test_subscribe_reports_added_existing_and_invalid(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, "/start")
        reply = await bot.ask(ANN, '/subscribe Ukraine, "Joe Biden" -football, "Kyiv')
        assert 'Subscribed: Ukraine, "Joe Biden" -football' in reply.plain_text
        assert '"Kyiv was not added: a quote is not closed' in reply.plain_text
        assert "How to write a subscription" in reply.plain_text
        again = await bot.ask(ANN, "/subscribe UKRAINE, NATO")
        assert "Subscribed: NATO" in again.plain_text
        assert "Already subscribed: UKRAINE" in again.plain_text
        listing = await bot.ask(ANN, "/list")
        assert listing.plain_text.splitlines()[1:] == [
            "1. Ukraine",
            '2. "Joe Biden" -football',
            "3. NATO",
        ]
    assert await _stored_queries(bot, ANN) == ["ukraine", '"joe biden" -football', "nato"]


async def test_user_text_is_escaped(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        reply = await bot.ask(ANN, "/subscribe <b>AT&T</b>")
        assert "Subscribed: <b>AT&T</b>" in reply.plain_text
        listing = await bot.ask(ANN, "/list")
        assert "1. <b>AT&T</b>" in listing.plain_text


async def test_subscribe_without_argument_takes_the_next_message(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        question = await bot.ask(ANN, "/subscribe")
        assert "What should I watch for?" in question.plain_text
        assert question.reply_markup == {
            "force_reply": True,
            "input_field_placeholder": 'Ukraine, "Joe Biden" -football',
        }
        answer = await bot.ask(ANN, "NATO, Kyiv OR Kiev")
        assert "Subscribed: NATO, Kyiv OR Kiev" in answer.plain_text
        hint = await bot.ask(ANN, "just chatting")
        assert "/subscribe" in hint.plain_text
    assert await _stored_queries(bot, ANN) == ["nato", "kiev OR kyiv"]


async def test_invalid_only_stores_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        reply = await bot.ask(ANN, "/subscribe -football")
        assert "only excludes words" in reply.plain_text
        assert "Subscribed" not in reply.plain_text
        too_long = await bot.ask(ANN, "/subscribe " + "x" * 101)
        assert "101 characters long; the limit is 100" in too_long.plain_text
    assert await _stored_queries(bot, ANN) == []


async def test_subscription_limit(tmp_path: Path) -> None:
    async with running_bot(tmp_path, {"MAX_SUBSCRIPTIONS_PER_USER": "2"}) as bot:
        reply = await bot.ask(ANN, "/subscribe one, two, three")
        assert "Subscribed: one, two" in reply.plain_text
        assert "limit of 2 subscriptions: three" in reply.plain_text
        refused = await bot.ask(ANN, "/subscribe four")
        assert "limit of 2" in refused.plain_text
        assert "Subscribed" not in refused.plain_text
    assert await _stored_queries(bot, ANN) == ["one", "two"]


async def test_unsubscribe_by_query_number_and_button(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, "/subscribe Ukraine, NATO, Xi, Putin")
        removed = await bot.ask(ANN, "/unsubscribe ukraine")
        assert "Removed: Ukraine" in removed.plain_text
        by_number = await bot.ask(ANN, "/unsubscribe 2")
        assert "Removed: Xi" in by_number.plain_text
        missing = await bot.ask(ANN, "/unsubscribe Biden")
        assert "Not found among your subscriptions: Biden" in missing.plain_text
        menu = await bot.ask(ANN, "/unsubscribe")
        assert [b["text"] for b in menu.buttons] == ["✖ NATO", "✖ Putin"]
        bot.fake.user_presses(ANN, menu.message_id, menu.callback_data[0])
        await bot.fake.wait_until(lambda: bot.fake.sent(ANN)[-1].edits)
        edited = bot.fake.sent(ANN)[-1]
        assert "Removed: NATO" in edited.plain_text
        assert [b["text"] for b in edited.buttons] == ["✖ Putin"]
        assert any("Removed NATO" in str(a.get("text")) for a in bot.fake.callback_answers)
        # A second tap on the stale button removes nothing else.
        bot.fake.user_presses(ANN, menu.message_id, menu.callback_data[0], require_button=False)
        await bot.fake.wait_until(
            lambda: any("already removed" in str(a.get("text")) for a in bot.fake.callback_answers)
        )
    assert await _stored_queries(bot, ANN) == ["putin"]


async def test_forged_button_cannot_touch_another_users_subscription(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        await bot.ask(BOB, "/subscribe NATO")
        menu = await bot.ask(BOB, "/unsubscribe")
        anns_id = 1  # Ann's subscription was stored first
        bot.fake.user_presses(BOB, menu.message_id, f"unsub:{anns_id}", require_button=False)
        await bot.fake.wait_until(lambda: len(bot.fake.callback_answers) == 1)
        bot.fake.user_presses(BOB, menu.message_id, "unsub:not-a-number", require_button=False)
        await bot.fake.wait_until(lambda: len(bot.fake.callback_answers) == 2)
    assert await _stored_queries(bot, ANN) == ["ukraine"]
    assert await _stored_queries(bot, BOB) == ["nato"]


async def test_unsubscribe_all_needs_confirmation(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, "/subscribe Ukraine, NATO")
        confirm = await bot.ask(ANN, "/unsubscribe all")
        assert "Remove all 2 subscriptions?" in confirm.plain_text
        bot.fake.user_presses(ANN, confirm.message_id, "unsuball:no")
        await bot.fake.wait_until(lambda: bot.fake.sent(ANN)[-1].edits)
        assert "Nothing removed" in bot.fake.sent(ANN)[-1].plain_text
        assert len(await _list_lines(bot)) == 2
        confirm = await bot.ask(ANN, "/unsubscribe all")
        bot.fake.user_presses(ANN, confirm.message_id, "unsuball:yes")
        await bot.fake.wait_until(lambda: bot.fake.sent(ANN)[-1].edits)
        assert "Removed all 2 subscriptions" in bot.fake.sent(ANN)[-1].plain_text
        empty = await bot.ask(ANN, "/unsubscribe")
        assert "You have no subscriptions" in empty.plain_text
    assert await _stored_queries(bot, ANN) == []


async def _list_lines(bot: BotHarness) -> list[str]:
    listing = await bot.ask(ANN, "/list")
    return listing.plain_text.splitlines()[1:]


async def test_pause_and_resume(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        paused = await bot.ask(ANN, "/pause")
        assert "Alerts paused. Your 1 subscription will be kept" in paused.plain_text
        assert "already paused" in (await bot.ask(ANN, "/pause")).plain_text
        assert "Alerts are paused" in (await bot.ask(ANN, "/list")).plain_text
        assert "back on" in (await bot.ask(ANN, "/resume")).plain_text
        assert "already on" in (await bot.ask(ANN, "/resume")).plain_text
        await bot.ask(ANN, "/pause")
    storage = await SqliteStorage.open(bot.database)
    try:
        user = await storage.get_chat(ANN)
        assert user is not None
        assert user.status is ChatStatus.PAUSED
    finally:
        await storage.close()


async def test_start_reactivates_a_paused_user(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, "/pause")
        welcome = await bot.ask(ANN, "/start")
        assert "Hello" in welcome.plain_text
        assert "already on" in (await bot.ask(ANN, "/resume")).plain_text


async def test_unknown_command_and_free_text_point_to_help(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        assert "/help" in (await bot.ask(ANN, "/frobnicate")).plain_text
        assert "/help" in (await bot.ask(ANN, "hello bot")).plain_text


async def test_subscriptions_survive_a_restart(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, '/subscribe Ukraine, "Joe Biden"')
        await bot.ask(BOB, "/subscribe NATO")
        await bot.restart()
        assert await _list_lines(bot) == ["1. Ukraine", '2. "Joe Biden"']
        bob = await bot.ask(BOB, "/list")
        assert bob.plain_text.splitlines()[1:] == ["1. NATO"]


async def test_queries_per_command_boundary(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        twenty = ", ".join(f"word{n}" for n in range(20))
        reply = await bot.ask(ANN, f"/subscribe {twenty}")
        assert "Subscribed: word0" in reply.plain_text
        refused = await bot.ask(ANN, "/subscribe " + twenty + ", word20")
        assert refused.plain_text == (
            "That is 21 subscriptions at once; send at most 20 per command."
        )
    assert len(await _stored_queries(bot, ANN)) == 20
