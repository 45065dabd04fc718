"""People who speak Ukrainian or Russian get the bot in their language, through the real bot.

Expected texts come from the shipped catalogues (translator(locale)), and the plural nouns are
spelt out as a native speaker says them, so a reply in English, in the wrong language or in
the wrong plural form fails.
"""

from pathlib import Path

from bot.i18n import translator, use_locale
from bot.render import replies
from bot.render.alerts import format_time
from bot.storage.sqlite import SqliteStorage
from handlers.menus import admin_commands, subscriber_commands
from tests.botapi_fake import SentMessage
from tests.e2e import POLL_TIMEOUT, BotHarness, Feeds, running_bot, story, watching_bot

OKSANA = 3001  # her Telegram app speaks Ukrainian
IVAN = 3002  # Russian
ANN = 3003  # English
ADMIN = 3004  # an admin whose app speaks Ukrainian
GROUP = -3005
UK = translator("uk")
RU = translator("ru")
EN = translator("en")
YOU_HAVE = (
    "You have {n} subscription: see them with /list.",
    "You have {n} subscriptions: see them with /list.",
)
PAUSED = (
    "⏸ Alerts paused. Your {n} subscription will be kept; stories published while "
    "paused will not be sent later. Send /resume to turn alerts on.",
    "⏸ Alerts paused. Your {n} subscriptions will be kept; stories published while "
    "paused will not be sent later. Send /resume to turn alerts on.",
)
UKRAINIAN_LETTERS = set("іїєґІЇЄҐ")


async def _ask_uk(bot: BotHarness, text: str) -> SentMessage:
    return await bot.ask(OKSANA, text, first_name="Оксана", language_code="uk")


def _commands(menu: list[dict[str, str]]) -> dict[str, str]:
    return {command["command"]: command["description"] for command in menu}


async def _stored_language(harness: BotHarness, chat_id: int) -> str | None:
    storage = await SqliteStorage.open(harness.database)
    try:
        chat = await storage.get_chat(chat_id)
        return chat.language if chat else None
    finally:
        await storage.close()


async def test_a_ukrainian_speaker_is_answered_in_ukrainian(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        welcome = await _ask_uk(bot, "/start")
        assert welcome.plain_text.startswith(UK.t("Hello, {name}!", name="Оксана"))
        assert UK.t("Send /help for all commands and the query syntax.") in welcome.plain_text
        assert "Hello" not in welcome.plain_text
        assert UKRAINIAN_LETTERS & set(welcome.plain_text), welcome.plain_text

        help_text = await _ask_uk(bot, "/help")
        assert "/language" in help_text.plain_text
        assert "Kyiv OR Kiev" in help_text.plain_text, "query examples stay as typed"
        assert "Commands" not in help_text.plain_text

        report = await _ask_uk(bot, "/subscribe Україна, -football")
        assert UK.t("✅ Subscribed: {queries}", queries="Україна") in report.plain_text
        reason = UK.t("it only excludes words; say what stories you want too")
        assert reason in report.plain_text, "a query's error is worded in the chat's language"
        assert "only excludes" not in report.plain_text
    assert await _stored_language(bot, OKSANA) == "uk"


async def test_plural_forms_follow_ukrainian_rules(tmp_path: Path) -> None:
    # n -> the noun a Ukrainian puts after n: one (1, 21), few (2-4), many (5-20).
    nouns = {1: "підписку", 2: "підписки", 5: "підписок", 21: "підписку"}
    async with running_bot(tmp_path, {"MAX_SUBSCRIPTIONS_PER_USER": "25"}) as bot:
        added = 0
        for count, noun in nouns.items():
            words = ", ".join(f"слово{n}" for n in range(added, count))
            await _ask_uk(bot, f"/subscribe {words}")
            added = count
            paused = await _ask_uk(bot, "/pause")
            assert paused.plain_text == UK.tn(*PAUSED, count)
            assert f"{count} {noun} " in paused.plain_text, paused.plain_text
            await _ask_uk(bot, "/resume")
        welcome = await _ask_uk(bot, "/start")
        assert UK.tn(*YOU_HAVE, 21) in welcome.plain_text
        assert "21 підписка" in welcome.plain_text


async def test_language_buttons_switch_the_chat_and_it_lasts_a_restart(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await _ask_uk(bot, "/start")
        menu = await _ask_uk(bot, "/language")
        assert menu.plain_text == UK.t("Which language should I speak in this chat?")
        assert [button["text"] for button in menu.buttons] == [
            "English",
            "✓ Українська",
            "Русский",
        ]
        bot.fake.user_presses(OKSANA, menu.message_id, "lang:ru", language_code="uk")
        await bot.fake.wait_until(lambda: bot.fake.sent(OKSANA)[-1].edits)
        confirmed = bot.fake.sent(OKSANA)[-1]
        assert confirmed.plain_text == RU.t(
            "✅ This chat's language is now: {language}. Send /language to change it.",
            language="русский",
        )
        assert confirmed.buttons == []
        assert len(bot.fake.callback_answers) == 1

        # Her app still speaks Ukrainian; the chat speaks Russian from now on, menu included.
        listing = await _ask_uk(bot, "/list")
        with use_locale("ru"):
            assert listing.text == replies.nothing_to_unsubscribe()
            russian_menu = _commands([c.to_dict() for c in subscriber_commands()])
        assert _commands(bot.fake.menu(OKSANA, "uk")) == russian_menu
        assert russian_menu["language"] == "Язык: English, Українська, Русский"

        await bot.restart()
        assert (await _ask_uk(bot, "/resume")).plain_text == RU.t("Alerts are already on.")
        again = await _ask_uk(bot, "/language")
        assert [button["text"] for button in again.buttons][2] == "✓ Русский"
    assert await _stored_language(bot, OKSANA) == "ru"


async def test_a_forged_language_button_changes_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        menu = await _ask_uk(bot, "/language")
        bot.fake.user_presses(OKSANA, menu.message_id, "lang:de", require_button=False)
        await bot.fake.wait_until(lambda: len(bot.fake.callback_answers) == 1)
        [answer] = bot.fake.callback_answers
        assert answer["text"] == UK.t(
            "That button no longer works. Send /language to choose again."
        )
        assert (await _ask_uk(bot, "/resume")).plain_text == UK.t("Alerts are already on.")
    assert await _stored_language(bot, OKSANA) == "uk"


async def test_a_group_speaks_its_own_language_whoever_writes(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.fake.make_admin(GROUP, OKSANA)  # a group's alerts are its admins' to change
        bot.fake.make_admin(GROUP, IVAN)
        bot.fake.user_sends(
            OKSANA, "/subscribe NATO", chat_id=GROUP, chat_type="group", language_code="uk"
        )
        await bot.fake.wait_for_sent(GROUP, count=1)
        bot.fake.user_sends(IVAN, "/resume", chat_id=GROUP, chat_type="group", language_code="ru")
        [_, reply] = await bot.fake.wait_for_sent(GROUP, count=2)
        assert reply.plain_text == UK.t("Alerts are already on.")
        ivan = await bot.ask(IVAN, "/resume", language_code="ru")
        assert ivan.plain_text == RU.t("Alerts are already on."), "his own chat: his language"


async def test_command_menus_are_set_in_every_language(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        for code, locale in (("", "en"), ("uk", "uk"), ("ru", "ru")):
            with use_locale(locale):
                expected = _commands([c.to_dict() for c in subscriber_commands()])
            assert _commands(bot.fake.commands(language_code=code)) == expected
            assert "language" in expected
        assert _commands(bot.fake.commands(language_code="uk"))["pause"] == UK.t("Pause alerts")
        assert _commands(bot.fake.menu(ANN, "de"))["pause"] == "Pause alerts"
        assert _commands(bot.fake.menu(IVAN, "ru"))["pause"] == RU.t("Pause alerts")


async def test_an_admins_menu_is_in_their_language(tmp_path: Path) -> None:
    async with running_bot(tmp_path, {"ADMIN_IDS": str(ADMIN)}) as bot:
        scope = {"type": "chat", "chat_id": ADMIN}
        assert _commands(bot.fake.commands(scope))["stats"] == EN.t(
            "Users, subscriptions, feeds and delivery figures"
        ), "before the admin ever wrote, English"
        await bot.ask(ADMIN, "/start", language_code="uk")
        with use_locale("uk"):
            ukrainian = _commands(
                [c.to_dict() for c in [*subscriber_commands(), *admin_commands()]]
            )
        await bot.fake.wait_until(lambda: _commands(bot.fake.commands(scope)) == ukrainian)
        await bot.restart()
        assert _commands(bot.fake.commands(scope)) == ukrainian, "set at start from the database"


async def test_an_alert_has_the_chats_labels_and_the_storys_own_words(
    tmp_path: Path, feeds: Feeds
) -> None:
    async with watching_bot(tmp_path, feeds, "/world.xml") as bot:
        await _ask_uk(bot, "/subscribe Ukraine")
        await bot.ask(ANN, "/subscribe Ukraine", language_code="en")
        item = story(1, "Ukraine and NATO talks resume", "<p>Ministers met on Tuesday.</p>")
        feeds.publish("/world.xml", item, title="World Desk")
        [_, to_oksana] = await bot.fake.wait_for_sent(OKSANA, count=2, timeout=POLL_TIMEOUT)
        [_, to_ann] = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        published = item["pub_date"].replace(microsecond=0)
        for alert, locale in ((to_oksana, "uk"), (to_ann, "en")):
            lines = alert.plain_text.splitlines()
            assert lines[0] == "Ukraine and NATO talks resume", "the title as the feed wrote it"
            assert "Ministers met on Tuesday." in alert.plain_text
            with use_locale(locale):
                assert lines[1] == f"World Desk · {format_time(published)}"
            speaker = translator(locale)
            assert lines[-1] == speaker.t("Matched: {queries}", queries="Ukraine")
        assert to_oksana.plain_text.splitlines()[-1] != to_ann.plain_text.splitlines()[-1]
