"""AiohttpRequest, PTB's transport in the bot, against the Bot API fake (a real HTTP server)."""

import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.telegram_http import AiohttpRequest
from tests.botapi_fake import BotApiFake

USER = 1001


@pytest.fixture
def fake() -> Iterator[BotApiFake]:
    with BotApiFake() as api:
        yield api


@pytest.fixture
async def bot(fake: BotApiFake) -> AsyncIterator[Bot]:
    request = AiohttpRequest(read_timeout=0.5)
    async with Bot(
        fake.token, base_url=fake.base_url, base_file_url=fake.file_url, request=request
    ) as client:
        yield client


async def test_a_message_arrives_with_its_parse_mode_and_buttons(
    bot: Bot, fake: BotApiFake
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="m:1")]])
    sent = await bot.send_message(
        USER, "<b>Ukraine</b> &amp; NATO", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    [message] = fake.sent(USER)
    assert message.message_id == sent.message_id
    assert message.plain_text == "Ukraine & NATO"
    assert message.parse_mode == "HTML"
    assert message.reply_markup == {"inline_keyboard": [[{"text": "Mute", "callback_data": "m:1"}]]}


async def test_a_document_goes_up_as_multipart_and_comes_back_down(
    bot: Bot, fake: BotApiFake
) -> None:
    sent = await bot.send_document(
        USER,
        InputFile(b"<opml/>", filename="feeds.opml"),
        caption="<b>2</b> feeds",
        parse_mode=ParseMode.HTML,
    )
    assert sent.document is not None and sent.document.file_name == "feeds.opml"
    assert fake.file_bytes(sent.document.file_id) == b"<opml/>"
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"<opml/>"


async def test_telegrams_refusals_become_ptbs_errors(bot: Bot, fake: BotApiFake) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "one")
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(USER, "two")
    fake.block_user(USER)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "three")
    assert fake.sent(USER) == []


async def test_an_answer_later_than_the_read_timeout_is_timed_out(
    bot: Bot, fake: BotApiFake
) -> None:
    fake.set_delay("sendMessage", 1.5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow")
    fake.set_delay("sendMessage", 0)
    # The message landed all the same (a timed-out read may have been delivered) and the
    # transport goes on working.
    await bot.send_message(USER, "next")
    assert [message.plain_text for message in fake.sent(USER)] == ["slow", "next"]


async def test_an_unreachable_api_is_a_network_error_without_the_token() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/bot123456:SECRET-token/getMe"
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(url)
    assert not isinstance(raised.value, TimedOut)
    assert "SECRET" not in str(raised.value)


async def test_a_request_before_initialize_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/botX/getMe", "POST")
