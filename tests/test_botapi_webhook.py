"""The Bot API fake's webhook, driven through the real python-telegram-bot client: updates
POSTed with the secret, retried until answered 2xx, getUpdates refused meanwhile."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from tests.botapi_fake import BotApiFake
from tests.e2e import eventually

USER = 42
WAIT = 5.0


@pytest.fixture
def fake() -> Iterator[BotApiFake]:
    with BotApiFake() as api:
        yield api


@pytest.fixture
async def bot(fake: BotApiFake) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


class Receiver:
    """A webhook endpoint on 127.0.0.1 answering with the statuses it is given, then 200."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, object], str | None]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> "Receiver":
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((json.loads(await request.read()), secret))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


async def test_updates_are_posted_with_the_secret_and_retried_until_accepted(
    fake: BotApiFake, bot: Bot
) -> None:
    async with Receiver(500, 403) as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret")
        sent = fake.user_sends(USER, "/start")
        fake.user_sends(USER, "/help")

        await eventually(lambda: len(receiver.received) == 4, WAIT)
        ids = [update["update_id"] for update, _ in receiver.received]
        first, second = sent["update_id"], sent["update_id"] + 1
        assert ids == [first, first, first, second], "in order, the failed one again"
        assert {secret for _, secret in receiver.received} == {"s3cret"}
        assert [status for _, status in fake.webhook_attempts] == [500, 403, 200, 200]
        assert fake.pending_updates == 0

        info = await bot.get_webhook_info()
        assert info.url == receiver.url
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 403"


async def test_an_unreachable_webhook_keeps_the_update_pending(fake: BotApiFake, bot: Bot) -> None:
    async with Receiver() as receiver:
        url = receiver.url
    await bot.set_webhook(url)  # nothing listens there any more
    fake.user_sends(USER, "/start")
    await eventually(lambda: len(fake.webhook_attempts) >= 2, WAIT)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message is not None
    assert info.last_error_message.startswith("Connection failed")


async def test_get_updates_is_refused_while_a_webhook_is_set(fake: BotApiFake, bot: Bot) -> None:
    async with Receiver(500) as receiver:
        await bot.set_webhook(receiver.url)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)

        assert await bot.delete_webhook()
        fake.user_sends(USER, "/start")
        [update] = await bot.get_updates(timeout=0)
        assert update.message is not None and update.message.text == "/start"
        assert (await bot.get_webhook_info()).url == ""
        assert receiver.received == []


async def test_a_pending_long_poll_ends_with_409_when_a_webhook_is_set(
    fake: BotApiFake, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
    await eventually(lambda: fake.count_requests("getUpdates") == 1, WAIT)
    # Nothing is pending, so nothing is posted (and nothing leaves loopback anyway).
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict):
        await asyncio.wait_for(poll, WAIT)


async def test_a_bad_secret_token_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="unallowed characters"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="no spaces")
