"""Two real bots on one PostgreSQL behind a load balancer: Telegram's POSTs reach them in
turn, so one chat's updates are handled by either; what one changes, the other acts on."""

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.changes import Change, ChangeKind
from tests.botapi_fake import BotApiFake
from tests.e2e import POLL_TIMEOUT, TOKEN, BotHarness, Feeds, eventually, story
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema
from tests.test_e2e_web import SECRET, free_port

ANN = 2101
PATH = "/world.xml"


@pytest.fixture
async def url() -> AsyncIterator[str]:
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as opened:
        yield opened


async def test_a_chat_served_by_two_instances_in_turn(
    tmp_path: Path, feeds: Feeds, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.sync")
    feeds.publish(PATH, story(1, "Old news about Ukraine"), title="World Desk")
    ports = [free_port(), free_port()]
    shared = {
        "DATABASE_URL": url,
        # The balancer's address, registered with setWebhook by both; nothing listens there.
        "WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/telegram/hook",
        "WEBHOOK_SECRET": SECRET,
        "FEED_URLS": feeds.server.url(PATH),
        "POLL_INTERVAL_SECONDS": "1",
    }
    with BotApiFake(TOKEN) as fake:
        fake.balance_webhook([f"http://127.0.0.1:{port}/telegram/hook" for port in ports])
        one, two = (
            BotHarness(fake, tmp_path / f"{n}.sqlite3", {**shared, "WEBHOOK_PORT": str(port)})
            for n, port in enumerate(ports)
        )
        await one.start()
        try:
            await two.start()
            try:
                await feeds.wait_polled(PATH)
                await one.ask(ANN, "/start")  # update 1: the first instance
                question = await one.ask(ANN, "/subscribe")  # update 2: the second
                assert "What should I watch for?" in question.plain_text
                # Update 3, the first instance: the answer, as a reply to the question.
                fake.user_sends(ANN, "Ukraine", reply_to_message_id=question.message_id)
                [*_, subscribed] = await fake.wait_for_sent(ANN, count=3)
                assert "Subscribed: Ukraine" in subscribed.plain_text
                # Update 4, the second instance, which asked: talk, not an answer any more.
                hint = await one.ask(ANN, "just chatting")
                assert "/subscribe" in hint.plain_text
                listed = await one.ask(ANN, "/list")  # update 5: the first
                assert "1. Ukraine" in listed.plain_text
                assert "chatting" not in listed.plain_text
                assert [status for _, status in fake.webhook_attempts] == [200] * 5

                # Both indexes have it (each instance hears its own change too)...
                change = Change(ChangeKind.SUBSCRIPTIONS, ANN)
                await eventually(lambda: applied(caplog, change) >= 2, POLL_TIMEOUT)
                # ...so the story is matched by whichever polls it: only the second is left.
                await one.stop()
                feeds.publish(PATH, story(2, "Ukraine and NATO meet"), title="World Desk")
                sent = await fake.wait_for_sent(ANN, count=6, timeout=POLL_TIMEOUT)
                assert sent[5].plain_text.splitlines()[0] == "Ukraine and NATO meet"
            finally:
                await two.stop()
        finally:
            await one.stop()


def applied(caplog: pytest.LogCaptureFixture, change: Change) -> int:
    """How many times an instance applied this change (bot.sync logs each)."""
    return sum(
        1 for record in caplog.records if record.name == "bot.sync" and record.args == (change,)
    )
