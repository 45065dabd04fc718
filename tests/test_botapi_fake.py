"""Tests for the fake Bot API, driven through the real python-telegram-bot client."""

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.botapi_fake import BotApiFake, HtmlError, decode_params, parse_html, utf16_len

USER = 42
# A long poll no test waits out, and the bound within which something else must end it.
LONG_POLL_SECONDS = 60
SAFETY_NET_SECONDS = 20
KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Subscribe", callback_data="sub:1")]],
)


@pytest.fixture(autouse=True)
def _retry_after_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without PTB_TIMEDELTA, PTB 22 warns while *constructing* RetryAfter, and under
    # filterwarnings=error the warning replaces the exception.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
def fake() -> Iterator[BotApiFake]:
    with BotApiFake() as api:
        yield api


@pytest.fixture
async def bot(fake: BotApiFake) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


# --- the HTML parser on its own ----------------------------------------------------------


def test_parse_html_gives_plain_text_and_utf16_entities() -> None:
    text, entities = parse_html(
        '😀 <b>bold</b> &amp; <a href="https://x.test/?a=1&amp;b=2">link</a>'
    )
    assert text == "😀 bold & link"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 10, "length": 4, "url": "https://x.test/?a=1&b=2"},
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<B>x</B>", [{"type": "bold", "offset": 0, "length": 1}]),
        ('<span class="tg-spoiler">x</span>', [{"type": "spoiler", "offset": 0, "length": 1}]),
        ("<blockquote expandable>x</blockquote>", [{"type": "expandable_blockquote"}]),
        ('<pre><code class="language-py">x</code></pre>', [{"type": "pre", "language": "py"}]),
        ('<tg-emoji emoji-id="5368324170671202286">x</tg-emoji>', [{"type": "custom_emoji"}]),
        ("<b></b>x", []),
    ],
)
def test_parse_html_accepts_telegram_tags(source: str, expected: list[dict[str, object]]) -> None:
    _, entities = parse_html(source)
    assert len(entities) == len(expected)
    for entity, wanted in zip(entities, expected, strict=True):
        assert wanted.items() <= entity.items()


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a <b", "Unclosed start tag at byte offset 2"),
        ("<b>x", "Can't find end tag corresponding to start tag b"),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("é&nbsp;", 'Unsupported HTML entity "&nbsp;" at byte offset 2'),
        ("AT&T", 'Unsupported HTML entity "&T"'),
        ("<a>x</a>", 'Tag "a" must have an "href"'),
        ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier"),
    ],
)
def test_parse_html_refuses_what_telegram_refuses(source: str, reason: str) -> None:
    with pytest.raises(HtmlError, match="^" + reason.replace("(", r"\(")):
        parse_html(source)


def test_lenient_html_keeps_unknown_entities_like_telegram() -> None:
    assert parse_html("AT&T &nbsp; &amp", strict=False) == ("AT&T &nbsp; &", [])


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("a😀é") == 4


def test_form_values_are_typed_by_parameter_name() -> None:
    body = b"chat_id=-100123&text=123&reply_markup=%7B%22a%22%3A1%7D&show_alert=true"
    params = decode_params("application/x-www-form-urlencoded", body)
    assert params == {
        "chat_id": -100123,
        "text": "123",
        "reply_markup": {"a": 1},
        "show_alert": True,
    }


# --- the API through PTB -----------------------------------------------------------------


async def test_get_me(bot: Bot, fake: BotApiFake) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (fake.bot_id, "newshound_test_bot", True)


async def test_send_valid_html_returns_the_parsed_message(bot: Bot, fake: BotApiFake) -> None:
    raw = '<b>Rates</b> &amp; <a href="https://x.test/a">more</a>'
    message = await bot.send_message(
        USER, raw, parse_mode="HTML", reply_markup=KEYBOARD, disable_web_page_preview=True
    )
    assert message.text == "Rates & more"
    assert message.entities[0].type == MessageEntity.BOLD
    assert message.entities[1].url == "https://x.test/a"
    assert message.reply_markup == KEYBOARD
    assert message.from_user is not None and message.from_user.id == fake.bot_id
    [sent] = fake.sent(USER)
    assert (sent.text, sent.plain_text, sent.parse_mode) == (raw, "Rates & more", "HTML")
    assert sent.callback_data == ["sub:1"]
    assert sent.params["link_preview_options"] == {"is_disabled": True}


async def test_forum_topics_on_incoming_messages_and_sends(bot: Bot, fake: BotApiFake) -> None:
    forum = -1_000_000_000_042
    fake.user_sends(USER, "/hello", chat_id=forum, chat_type="supergroup", thread_id=9)
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None
    assert (update.message.message_thread_id, update.message.is_topic_message) == (9, True)
    assert update.message.chat.is_forum
    message = await bot.send_message(forum, "in the topic", message_thread_id=9)
    assert message.message_thread_id == 9
    [sent] = fake.sent(forum)
    assert sent.thread_id == 9
    with pytest.raises(ValueError, match="supergroup"):
        fake.user_sends(USER, "hello", chat_id=-5, chat_type="group", thread_id=9)


@pytest.mark.parametrize("text", ["<p>story</p>", "1 < 2", "caf&eacute;", "<b>unclosed", ""])
async def test_invalid_html_is_a_bad_request(bot: Bot, fake: BotApiFake, text: str) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(USER, text, parse_mode="HTML")
    assert fake.sent() == []
    assert fake.errors[-1][1] == 400


async def test_parse_error_text_reaches_ptb(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag"):
        await bot.send_message(USER, "<p>story</p>", parse_mode="HTML")


@pytest.mark.parametrize(
    ("text", "parse_mode", "fits"),
    [
        ("x" * 4096, None, True),
        ("x" * 4097, None, False),
        ("😀" * 2048, None, True),
        ("😀" * 2048 + "x", None, False),
        ("&amp;" * 4096, "HTML", True),
        ("&amp;" * 4097, "HTML", False),
        ("<b>" + "x" * 4096 + "</b>", "HTML", True),
    ],
)
async def test_length_is_utf16_units_after_parsing(
    bot: Bot, text: str, parse_mode: str | None, fits: bool
) -> None:
    if fits:
        await bot.send_message(USER, text, parse_mode=parse_mode)
    else:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, text, parse_mode=parse_mode)


async def test_blocked_and_deactivated_users_are_forbidden(bot: Bot, fake: BotApiFake) -> None:
    fake.block_user(1)
    fake.deactivate_user(2)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(1, "hi")
    with pytest.raises(Forbidden, match="deactivated"):
        await bot.send_message(2, "hi")
    fake.user_sends(1, "/start")
    await bot.send_message(1, "welcome back")


async def test_forgotten_chat_is_not_found(bot: Bot, fake: BotApiFake) -> None:
    fake.forget_chat(3)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(3, "hi")


async def test_injected_429_is_retry_after(bot: Bot, fake: BotApiFake) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(USER, "hi")
    assert fake.rate_limited_count == 1
    assert len(fake.sent(USER)) == 1


async def test_fault_for_one_chat_leaves_others_alone(bot: Bot, fake: BotApiFake) -> None:
    fake.fail_next("sendMessage", status=500, chat_id=2, times=2)
    await bot.send_message(1, "fine")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(2, "broken")
    await bot.send_message(2, "fine again")


async def test_migrated_group_names_the_supergroup(bot: Bot, fake: BotApiFake) -> None:
    fake.migrate_group(-42, -100_42)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-42, "hi")
    assert caught.value.new_chat_id == -100_42
    message = await bot.send_message(-100_42, "hi")
    assert message.chat.type == "supergroup"


async def test_wrong_token_is_invalid(fake: BotApiFake) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("654321:WRONG", base_url=fake.base_url):
            pass
    assert fake.requests == []


async def test_unknown_method_is_not_found(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendHologram")


async def long_poll_arrived(fake: BotApiFake) -> None:
    """Wait until the fake holds the test's getUpdates."""
    await fake.wait_until(lambda: fake.count_requests("getUpdates") >= 1, SAFETY_NET_SECONDS)


async def test_long_poll_returns_as_soon_as_an_update_arrives(bot: Bot, fake: BotApiFake) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=LONG_POLL_SECONDS))
    await long_poll_arrived(fake)
    fake.user_sends(USER, "/news@newshound_test_bot rates")
    # Well before the poll's own timeout: only the update can have ended it.
    [update] = await asyncio.wait_for(poll, SAFETY_NET_SECONDS)
    assert update.message is not None and update.message.text is not None
    assert update.message.parse_entities([MessageEntity.BOT_COMMAND]) == {
        update.message.entities[0]: "/news@newshound_test_bot"
    }
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert fake.pending_updates == 0
    assert fake.count_requests("getupdates") == 2


async def test_offset_confirms_earlier_updates(bot: Bot, fake: BotApiFake) -> None:
    first = fake.user_sends(USER, "one")
    fake.user_sends(USER, "two")
    updates = await bot.get_updates(offset=first["update_id"] + 1, timeout=0)
    assert [u.message.text for u in updates if u.message] == ["two"]
    assert fake.pending_updates == 1


async def test_stop_releases_a_pending_long_poll(bot: Bot, fake: BotApiFake) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=LONG_POLL_SECONDS))
    await long_poll_arrived(fake)
    # Well before the poll's own timeout: only stop() can have ended it.
    await asyncio.wait_for(asyncio.to_thread(fake.stop), SAFETY_NET_SECONDS)
    assert await asyncio.wait_for(poll, SAFETY_NET_SECONDS) == ()


async def test_second_poller_conflicts_with_the_first(bot: Bot, fake: BotApiFake) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=LONG_POLL_SECONDS))
    await long_poll_arrived(fake)
    async with Bot(fake.token, base_url=fake.base_url) as other:
        await other.get_updates(timeout=0)
    with pytest.raises(Conflict):
        await first


async def test_callback_press_round_trip(bot: Bot, fake: BotApiFake) -> None:
    message = await bot.send_message(
        USER, "<b>Rates up</b>", parse_mode="HTML", reply_markup=KEYBOARD
    )
    fake.user_presses(USER, message.message_id, "sub:1")
    [update] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and query.data == "sub:1"
    assert isinstance(query.message, Message) and query.message.text == "Rates up"
    await query.answer("Subscribed")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("again")
    await bot.edit_message_text("Subscribed ✅", chat_id=USER, message_id=message.message_id)
    [sent] = fake.sent(USER)
    assert (sent.text, sent.edits, sent.reply_markup) == (
        "Subscribed ✅",
        ["<b>Rates up</b>"],
        None,
    )
    assert fake.callback_answers[0]["text"] == "Subscribed"


async def test_press_needs_the_message_and_a_button(bot: Bot, fake: BotApiFake) -> None:
    message = await bot.send_message(USER, "story", reply_markup=KEYBOARD)
    with pytest.raises(LookupError):
        fake.user_presses(USER, 99, "sub:1")
    with pytest.raises(ValueError, match="no button"):
        fake.user_presses(USER, message.message_id, "forged")
    stale = fake.user_presses(USER, message.message_id, "forged", require_button=False)
    assert stale["callback_query"]["data"] == "forged"


async def test_edits_like_telegram(bot: Bot, fake: BotApiFake) -> None:
    message = await bot.send_message(USER, "<b>Hi</b>", parse_mode="HTML", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Hi</b>", USER, message.message_id, parse_mode="HTML", reply_markup=KEYBOARD
        )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    await bot.edit_message_text("Hi", USER, message.message_id, reply_markup=KEYBOARD)
    assert fake.sent(USER)[0].entities == []


async def test_delete_and_chat_action(bot: Bot, fake: BotApiFake) -> None:
    message = await bot.send_message(USER, "bye")
    assert await bot.send_chat_action(USER, "typing")
    assert await bot.delete_message(USER, message.message_id)
    assert fake.sent(USER)[0].deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, message.message_id)


async def test_commands_are_stored_per_scope(bot: Bot, fake: BotApiFake) -> None:
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(7))
    assert fake.commands() == [{"command": "start", "description": "Start"}]
    assert fake.commands({"type": "chat", "chat_id": 7})[0]["command"] == "admin"
    [command] = await bot.get_my_commands(scope=BotCommandScopeChat(7))
    assert command.command == "admin"
    await bot.delete_my_commands(scope=BotCommandScopeChat(7))
    assert await bot.get_my_commands(scope=BotCommandScopeChat(7)) == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Start!", "bad")])


async def test_commands_are_stored_per_language_and_shown_as_telegram_picks_them(
    bot: Bot, fake: BotApiFake
) -> None:
    await bot.set_my_commands([BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("help", "Довідка")], language_code="uk")
    await bot.set_my_commands([BotCommand("help", "Справка")], scope=BotCommandScopeChat(7))
    assert fake.commands(language_code="uk") == [{"command": "help", "description": "Довідка"}]
    [command] = await bot.get_my_commands(language_code="uk")
    assert command.description == "Довідка"
    assert fake.menu(USER, "uk")[0]["description"] == "Довідка"
    assert fake.menu(USER, "de")[0]["description"] == "Help", "no menu of its language: default"
    assert fake.menu(7, "uk")[0]["description"] == "Справка", "the chat's own menu comes first"
    with pytest.raises(BadRequest, match="language code"):
        await bot.set_my_commands([BotCommand("help", "Help")], language_code="uk-UA")


async def test_a_user_update_carries_the_users_app_language(bot: Bot, fake: BotApiFake) -> None:
    fake.user_sends(USER, "hello", language_code="uk")
    fake.user_sends(USER + 1, "hello")
    first, second = await bot.get_updates(timeout=0)
    assert first.effective_user is not None and second.effective_user is not None
    assert (first.effective_user.language_code, second.effective_user.language_code) == (
        "uk",
        None,
    )
    assert first.effective_chat is not None
    assert "language_code" not in first.effective_chat.api_kwargs, "a chat has no language"


async def test_per_chat_limit_answers_429(bot: Bot, fake: BotApiFake) -> None:
    fake.enforce_limits(per_chat_per_second=1.0, per_chat_burst=3)
    for n in range(3):
        await bot.send_message(USER, f"burst {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "one too many")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    await bot.send_message(USER + 1, "other chats are fine")
    assert fake.rate_limited_count == 1


async def test_private_chat_limit_is_a_burst_of_three_then_one_a_second(
    bot: Bot, fake: BotApiFake
) -> None:
    now = [100.0]
    fake.enforce_limits(clock=lambda: now[0])  # Telegram's defaults

    async def accepted(count: int) -> list[bool]:
        outcomes = []
        for n in range(count):
            try:
                await bot.send_message(USER, f"message {n}")
                outcomes.append(True)
            except RetryAfter as refused:
                assert refused.retry_after == dtm.timedelta(seconds=1)
                outcomes.append(False)
        return outcomes

    assert await accepted(5) == [True, True, True, False, False]
    now[0] += 0.5
    assert await accepted(1) == [False], "half a second is not a message's worth"
    now[0] += 0.5
    assert await accepted(2) == [True, False], "refused requests used up nothing"
    now[0] += 60
    assert await accepted(4) == [True, True, True, False], "a long pause refills only the burst"
    assert fake.rate_limited_count == 5
    assert len(fake.sent(USER)) == 7


async def test_global_and_group_limits_answer_429(bot: Bot, fake: BotApiFake) -> None:
    fake.enforce_limits(global_per_second=5, per_chat_burst=10, per_group_per_minute=2)
    for chat in range(1, 6):
        await bot.send_message(chat, "hi")
    with pytest.raises(RetryAfter):
        await bot.send_message(6, "global limit")
    fake.enforce_limits(per_group_per_minute=2)
    await bot.send_message(-5, "one")
    await bot.send_message(-5, "two")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(-5, "three")
    assert caught.value.retry_after == dtm.timedelta(seconds=30)


async def test_slow_answer_times_out_but_the_message_is_delivered(
    bot: Bot, fake: BotApiFake
) -> None:
    fake.set_delay("sendMessage", 2.0)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "late", read_timeout=0.1)
    [sent] = await fake.wait_for_sent(USER)
    assert sent.text == "late"


async def test_wait_for_sent_says_what_it_saw(fake: BotApiFake) -> None:
    with pytest.raises(AssertionError, match="got 0"):
        await fake.wait_for_sent(USER, timeout=0.05)


async def test_delete_webhook_can_drop_pending_updates(bot: Bot, fake: BotApiFake) -> None:
    fake.user_sends(USER, "old")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.delete_webhook(drop_pending_updates=True)
    assert fake.pending_updates == 0


async def test_group_message_and_reply(bot: Bot, fake: BotApiFake) -> None:
    sent = await bot.send_message(-100_5, "story")
    update = fake.user_sends(
        USER, "/mute", chat_id=-100_5, chat_type="supergroup", reply_to_message_id=sent.message_id
    )
    assert update["message"]["reply_to_message"]["text"] == "story"
    [received] = await bot.get_updates(timeout=0)
    assert received.message is not None and received.message.chat.type == "supergroup"
    answer = await received.message.reply_text("muted", do_quote=True)
    assert answer.reply_to_message is not None and answer.reply_to_message.text == "/mute"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(-100_5, "x", reply_to_message_id=999)


async def test_raw_json_and_multipart_bodies(fake: BotApiFake) -> None:
    url = f"{fake.base_url}{fake.token}"
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{url}/sendMessage", json={"chat_id": USER, "text": "json"})
        assert answer.json()["result"]["text"] == "json"
        answer = await client.post(
            f"{url}/sendmessage",
            data={"chat_id": str(USER), "text": "multipart"},
            files={"document": ("a.txt", b"abc")},
        )
        assert answer.json()["ok"]
        wrong = await client.post(f"{fake.base_url}1:X/getMe")
        missing = await client.post(f"{url}/sendHologram")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert missing.json()["description"] == "Not Found"
    assert fake.calls("sendMessage")[1]["document"] == {"filename": "a.txt", "size": 3}


async def test_application_polls_and_replies(fake: BotApiFake) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "<i>Welcome</i>", parse_mode="HTML"
        )

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=2))
        fake.user_sends(USER, "/start")
        [sent] = await fake.wait_for_sent(USER)
        await app.updater.stop()
        await app.stop()
    assert sent.plain_text == "Welcome"
    assert fake.pending_updates == 0


# --- files: documents both ways ------------------------------------------------------------


async def test_send_document_uploads_the_file_as_telegram_stores_it(fake: BotApiFake) -> None:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.file_url) as bot:
        sent = await bot.send_document(
            USER,
            InputFile(b"<opml/>", filename="feeds.opml"),
            caption="<b>2</b> feeds",
            parse_mode="HTML",
        )
        assert sent.document is not None
        assert sent.document.file_name == "feeds.opml"
        assert sent.document.file_size == 7
        assert sent.caption == "2 feeds"
        assert fake.file_bytes(sent.document.file_id) == b"<opml/>"
        [message] = fake.sent(USER)
        assert message.document is not None and message.plain_text == "2 feeds"
        # The same file again by its file_id, as Telegram allows; and back down through getFile.
        again = await bot.send_document(USER, sent.document.file_id)
        assert again.document is not None and again.document.file_id == sent.document.file_id
        downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
        assert bytes(downloaded) == b"<opml/>"


async def test_send_document_refuses_what_telegram_refuses(bot: Bot, fake: BotApiFake) -> None:
    with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
        await bot.send_document(USER, InputFile(b"", filename="empty.opml"))
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(USER, InputFile(b"x", filename="a.txt"), caption="x" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(USER, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("no-such-file-id")
    assert fake.sent(USER) == []


async def test_a_user_sends_a_document_the_bot_downloads(fake: BotApiFake) -> None:
    update = fake.user_sends_document(
        USER, b"\xef\xbb\xbfdata", "list.opml", caption="/importfeeds now"
    )
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.file_url) as bot:
        [received] = await bot.get_updates(timeout=0)
        message = received.message
        assert message is not None and message.document is not None
        assert message.caption == "/importfeeds now"
        assert message.caption_entities[0].type == MessageEntity.BOT_COMMAND
        assert message.document.file_name == "list.opml" and message.document.file_size == 7
        file = await bot.get_file(message.document.file_id)
        assert file.file_path is not None and file.file_path.endswith(".opml")
        assert bytes(await file.download_as_bytearray()) == b"\xef\xbb\xbfdata"
        reply = await bot.send_message(USER, "ok", reply_to_message_id=message.message_id)
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.document is not None
    assert update["message"]["document"]["file_id"] == message.document.file_id


async def test_file_downloads_need_the_token_and_a_known_path(fake: BotApiFake) -> None:
    fake.user_sends_document(USER, b"abc", "a.txt")
    async with httpx.AsyncClient() as client:
        wrong_token = await client.get(f"{fake.url}/file/bot1:X/documents/file_1.txt")
        missing = await client.get(f"{fake.file_url}{fake.token}/documents/file_9.txt")
        found = await client.get(f"{fake.file_url}{fake.token}/documents/file_1.txt")
    assert (wrong_token.status_code, missing.status_code) == (404, 404)
    assert found.content == b"abc"


async def test_privacy_mode_hides_group_talk_but_not_commands_replies_or_mentions(
    bot: Bot, fake: BotApiFake
) -> None:
    group = -1_000_000_000_043
    mine = await bot.send_message(group, "Which query?")
    hidden = fake.user_sends(USER, "hello all", chat_id=group, chat_type="supergroup")
    other = fake.user_sends(USER, "/list@otherbot", chat_id=group, chat_type="supergroup")
    assert hidden["update_id"] == other["update_id"] == 0
    fake.user_sends(USER, "/list", chat_id=group, chat_type="supergroup")
    fake.user_sends(
        USER, "NATO", chat_id=group, chat_type="supergroup", reply_to_message_id=mine.message_id
    )
    fake.user_sends(USER, f"hi @{fake.bot_username}", chat_id=group, chat_type="supergroup")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == [
        "/list",
        "NATO",
        f"hi @{fake.bot_username}",
    ]
    fake.make_admin(group, fake.bot_id)  # an admin bot sees everything
    fake.user_sends(USER, "hello all", chat_id=group, chat_type="supergroup")
    [update] = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert update.message is not None and update.message.text == "hello all"


async def test_anonymous_admin_writes_as_the_group(bot: Bot, fake: BotApiFake) -> None:
    group = -1_000_000_000_044
    fake.user_sends(USER, "/pause", chat_id=group, chat_type="supergroup", anonymous=True)
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.sender_chat is not None
    assert update.message.sender_chat.id == group
    assert update.message.from_user is not None
    assert update.message.from_user.username == "GroupAnonymousBot"
    with pytest.raises(ValueError, match="group admin"):
        fake.user_sends(USER, "/pause", anonymous=True)


async def test_the_bots_membership_changes_come_as_my_chat_member(
    bot: Bot, fake: BotApiFake
) -> None:
    group = -1_000_000_000_045
    fake.add_chat(group, "supergroup", with_bot=False)
    fake.change_bot_status(group, "member", by_user=USER)
    fake.change_bot_status(group, "restricted", by_user=USER, can_send_messages=False)
    with pytest.raises(BadRequest, match="Not enough rights"):
        await bot.send_message(group, "muted")
    fake.change_bot_status(group, "kicked", by_user=USER)
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await bot.send_message(group, "gone")
    fake.change_bot_status(group, "administrator", by_user=USER)
    await bot.send_message(group, "back")
    updates = await bot.get_updates(timeout=0)
    changes = [u.my_chat_member for u in updates if u.my_chat_member]
    assert [(c.old_chat_member.status, c.new_chat_member.status) for c in changes] == [
        ("left", "member"),
        ("member", "restricted"),
        ("restricted", "kicked"),
        ("kicked", "administrator"),
    ]
    assert all(c.from_user.id == USER and c.chat.id == group for c in changes)


async def test_closed_and_deleted_topics_refuse_sends(bot: Bot, fake: BotApiFake) -> None:
    forum = -1_000_000_000_046
    fake.add_chat(forum, "supergroup", is_forum=True)
    fake.close_topic(forum, 3)
    fake.delete_topic(forum, 4)
    with pytest.raises(BadRequest, match="Topic_closed"):
        await bot.send_message(forum, "closed", message_thread_id=3)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(forum, "deleted", message_thread_id=4)
    await bot.send_message(forum, "general")
    fake.reopen_topic(forum, 3)
    await bot.send_message(forum, "reopened", message_thread_id=3)
    assert [m.text for m in fake.sent(forum)] == ["general", "reopened"]
