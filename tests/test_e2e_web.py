"""The bot's HTTP side, end to end: Telegram's webhook, /healthz and /metrics, by real
requests to the running bot (and, for the webhook, by the Bot API fake's own POSTs)."""

import asyncio
import json
import re
import socket
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.storage.sqlite import SqliteStorage
from bot.web.health import DELIVERY_STALL_SECONDS
from tests.clocks import JumpClock
from tests.e2e import POLL_TIMEOUT, Feeds, eventually, running_bot, story, watching_bot

ANN = 3001
MALLORY = 3666
SECRET = "s3cret-Token_1"
# Longer than the event-loop check remembers a stall (~10 s): a busy machine's hiccup
# during the test must not fail it.
HEALTHY_AGAIN_TIMEOUT = 30.0
# Taking the write lock waits this long at most for the bot's writer to commit.
LOCK_WAIT_SECONDS = 60.0


def free_port() -> int:
    """A port nothing listens on now (the bot binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_settings(port: int) -> dict[str, str]:
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
    }


def start_update(user_id: int, text: str = "/start") -> dict[str, object]:
    """A message update as Telegram would post it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Mallory"}
    message = {
        "message_id": 1,
        "from": user,
        "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
        "date": 1_700_000_000,
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
    }
    return {"update_id": 900_001, "message": message}


# ---- webhook ----


async def test_webhook_updates_are_handled_like_polled_ones(tmp_path: Path) -> None:
    port = free_port()
    # One listener for the webhook and /healthz: the same port, the same address.
    settings = {**webhook_settings(port), "HTTP_PORT": str(port)}
    async with running_bot(tmp_path, settings) as bot, httpx.AsyncClient() as http:
        [registered] = bot.fake.calls("setWebhook")
        assert registered["url"] == f"http://127.0.0.1:{port}/telegram/hook"
        assert registered["secret_token"] == SECRET
        assert set(registered["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}

        reply = await bot.ask(ANN, "/subscribe Ukraine")
        assert "Subscribed: Ukraine" in reply.plain_text
        listed = await bot.ask(ANN, "/list")
        assert "Ukraine" in listed.plain_text

        assert bot.fake.count_requests("getUpdates") == 0
        assert [status for _, status in bot.fake.webhook_attempts] == [200, 200]
        assert bot.fake.pending_updates == 0
        assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200


async def test_a_request_without_the_secret_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(tmp_path, webhook_settings(port)) as bot, httpx.AsyncClient() as http:
        update = start_update(MALLORY, "/subscribe Kraken")
        missing = await http.post(hook, json=update)
        wrong = await http.post(
            hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}
        )
        assert (missing.status_code, wrong.status_code) == (403, 403)

        # The chat's next update is handled after anything queued before it: had the forged
        # one been queued, its reply would come first.
        reply = await bot.ask(MALLORY, "/list")
        assert "Kraken" not in reply.plain_text, reply.plain_text
        assert len(bot.fake.sent(MALLORY)) == 1

        right = await http.post(
            hook, content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert right.status_code == 400, "the right secret with no update in it"
    storage = await SqliteStorage.open(bot.database)
    try:
        assert await storage.list_subscriptions(MALLORY) == []
    finally:
        await storage.close()


async def test_updates_sent_while_the_bot_is_down_arrive_when_it_is_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with running_bot(tmp_path, webhook_settings(port)) as bot:
        await bot.ask(ANN, "/start")
        await bot.stop()
        # The webhook stays registered: Telegram keeps the update and retries.
        bot.fake.user_sends(ANN, "/help")
        await eventually(lambda: len(bot.fake.webhook_attempts) >= 3, POLL_TIMEOUT)
        assert all(isinstance(outcome, str) for _, outcome in bot.fake.webhook_attempts[1:])
        assert bot.fake.pending_updates == 1

        await bot.start()
        [_, help_reply] = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        assert "/unsubscribe" in help_reply.plain_text
        assert bot.fake.pending_updates == 0


async def test_polling_again_removes_the_webhook(tmp_path: Path) -> None:
    port = free_port()
    async with running_bot(tmp_path, webhook_settings(port)) as bot:
        await bot.stop()
        bot.overrides = {}
        await bot.start()  # long polling: PTB deletes the webhook first
        assert bot.fake.count_requests("deleteWebhook") >= 1
        reply = await bot.ask(ANN, "/start")
        assert reply.plain_text


# ---- health ----


async def healthz(http: httpx.AsyncClient, port: int) -> tuple[int, dict[str, Any]]:
    """GET /healthz: the status and the JSON body."""
    response = await http.get(f"http://127.0.0.1:{port}/healthz")
    return response.status_code, json.loads(response.text)


async def until_healthy(http: httpx.AsyncClient, port: int) -> None:
    """Ask /healthz again until it answers 200; fail after HEALTHY_AGAIN_TIMEOUT."""
    deadline = asyncio.get_running_loop().time() + HEALTHY_AGAIN_TIMEOUT
    while (answer := await healthz(http, port))[0] != 200:
        assert asyncio.get_running_loop().time() < deadline, answer
        await asyncio.sleep(0.05)


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """A connection holding the database's write lock. It waits (from a thread, so the bot's
    loop runs on) for the bot's own write transaction to commit first: the bot writes at
    startup and between polls, and a busy machine can keep one open for seconds."""
    holder = sqlite3.connect(
        path, isolation_level=None, timeout=LOCK_WAIT_SECONDS, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def test_healthz_answers_200_then_503_while_the_database_takes_no_writes(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with (
        running_bot(tmp_path, {"HTTP_PORT": str(port)}) as bot,
        httpx.AsyncClient(timeout=30) as http,
    ):
        status, body = await healthz(http, port)
        assert (status, body) == (
            200,
            {"status": "ok", "checks": {"event_loop": "ok", "database": "ok", "delivery": "ok"}},
        )

        # Another process holds the database's write lock: the bot can write nothing.
        holder = await asyncio.to_thread(hold_write_lock, bot.database)
        try:
            status, body = await healthz(http, port)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert status == 503, body
        assert body["status"] == "unhealthy"
        assert body["checks"]["event_loop"] == "ok"
        assert body["checks"]["database"] == "a write did not finish within 2 s"

        await until_healthy(http, port)


async def test_healthz_says_delivery_stalled_while_a_send_hangs(
    tmp_path: Path, feeds: Feeds
) -> None:
    clock = JumpClock()
    port = free_port()
    settings = {"HTTP_PORT": str(port)}
    async with (
        watching_bot(tmp_path, feeds, "/a.xml", overrides=settings, clock=clock) as bot,
        httpx.AsyncClient(timeout=30) as http,
    ):
        await bot.ask(ANN, "/subscribe Ukraine")
        # Telegram takes the alert and never answers (until PTB's own timeout).
        bot.fake.set_delay("sendMessage", 60)
        feeds.publish("/a.xml", story(1, "Ukraine hangs"))
        await eventually(lambda: len(bot.fake.calls("sendMessage")) >= 2, POLL_TIMEOUT)
        _, body = await healthz(http, port)
        assert body["checks"]["delivery"] == "ok", "work waiting a moment is no stall"

        clock.jump(DELIVERY_STALL_SECONDS + 1)
        status, body = await healthz(http, port)
        assert status == 503, body
        assert body["checks"]["delivery"].startswith("stalled: work has waited 30"), body
        assert body["checks"]["database"] == "ok"

        # The send times out and is retried: delivery moves again.
        bot.fake.set_delay("sendMessage", 0)
        await until_healthy(http, port)


# ---- metrics ----


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: httpx.AsyncClient, port: int) -> tuple[str, dict[Any, float]]:
    response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, samples(response.text)


async def test_metrics_count_polls_stories_sends_and_429s_without_personal_data(
    tmp_path: Path, feeds: Feeds
) -> None:
    port = free_port()
    settings = {"HTTP_PORT": str(port)}
    async with (
        watching_bot(tmp_path, feeds, "/a.xml", overrides=settings) as bot,
        httpx.AsyncClient(timeout=30) as http,
    ):
        await bot.ask(ANN, "/subscribe Ukraine")
        _, before = await scrape(http, port)
        ok_polls = ("newshound_feed_polls_total", (("feed_id", "1"), ("outcome", "ok")))
        sent = ("newshound_sends_total", (("outcome", "sent"),))
        assert before[sent] == 0
        assert before[("newshound_stories_new_total", ())] >= 1, "the primer"

        bot.fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=ANN)
        feeds.publish("/a.xml", story(1, "Ukraine counted"))
        await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        # Counted once Telegram's answer reached the worker, a moment after the fake saw it,
        # and off the backlog once its outcome is committed.
        pending = ("newshound_outbox_pending_rows", ())
        deadline = asyncio.get_running_loop().time() + POLL_TIMEOUT
        while (scraped := await scrape(http, port))[1][sent] < 1 or scraped[1][pending] > 0:
            assert asyncio.get_running_loop().time() < deadline, scraped[0]
            await asyncio.sleep(0.05)
        text, after = scraped

        assert after[ok_polls] > before[ok_polls]
        assert (
            after[("newshound_stories_new_total", ())]
            == before[("newshound_stories_new_total", ())] + 1
        )
        assert after[("newshound_stories_matched_total", ())] == 1
        assert after[sent] == 1
        assert after[("newshound_sends_total", (("outcome", "retry"),))] == 1
        assert after[("newshound_telegram_rate_limited_total", (("method", "sendMessage"),))] == 1
        assert after[("newshound_alert_latency_seconds_count", ())] == 1
        assert (
            after[("newshound_feed_poll_duration_seconds_count", ())]
            > before[("newshound_feed_poll_duration_seconds_count", ())]
        )
        assert after[("newshound_matches_waiting", ())] == 0
        # The chat id as a token of its own: a float's digits (0.0816022530016) may hold it.
        assert not re.search(rf"(?<![\w.]){ANN}(?![\w.])", text)
        assert "ukraine" not in text.casefold()
