"""The real bot process (`python -m bot run`): SIGKILL at random moments, secrets, exits, backup.

The bot runs as a subprocess against the Bot API fake and the local feed server, both in
this process. Kill points come from a seeded random generator (NEWSHOUND_KILL_SEED
overrides the seed); each test's kill log is part of its failure message.
"""

import asyncio
import contextlib
import os
import random
import socket
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import sends_in_flight
from tests.botapi_fake import CONFLICT, BotApiFake, SentMessage
from tests.feedserver import FeedServer
from tests.process_harness import (
    SECRET,
    TOKEN,
    Accounting,
    BotProcess,
    Ledger,
    NewsSite,
    Pair,
    account,
    broadcast_rows_by_status,
    broadcast_status_message,
    clean_environ,
    count_rows,
    feed_primed,
    file_names,
    group_members,
    integrity,
    kill_group,
    news_item,
    outbox_by_status,
    pending_broadcast_users,
    run_command,
    story_titles,
    unclaimed_pairs,
    wait_for,
    wait_while_progressing,
)

SEED = int(os.environ.get("NEWSHOUND_KILL_SEED", "20240611"))
USERS = tuple(range(7001, 7061))
ADMIN = 9001
# Each send stays unanswered this long after the fake has recorded it: the message is
# delivered but the bot does not know yet, the worst moment for a crash.
SEND_DELAY = 0.4
FETCH_DELAY = 0.1
SETUP_TIMEOUT = 30.0
FINISH_TIMEOUT = 60.0
# The last run delivers what the kills left (hundreds of messages, 4 in flight, each answered
# after SEND_DELAY): how long that takes follows the machine's load, so the wait ends only
# when nothing more was delivered for this long.
FINISH_STALL = 30.0
OWNER_ONLY = 0o600

# Alerts: every user's queries and every story's topic words are known by construction, so
# who must get which story is computed here, independently of the bot's matcher.
WAVE_TOPICS = ("Ukraine", "Ukraine", "NATO", "NATO", "Ukraine and NATO", "Harbour")
KILL_CYCLES = 24
WAVE_CYCLES = (0, 8, 16)
ALERT_RATE = 30  # MAX_MESSAGES_PER_SECOND, Telegram's default
COALESCE_NEVER = 24 * 3600  # ALERT_COALESCE_SECONDS: far beyond the test's length


def queries_of(user: int) -> tuple[str, ...]:
    """Half the users watch Ukraine or NATO, a sixth both, a sixth something never published."""
    n = user - USERS[0]
    if n < 20:
        return ("Ukraine",)
    if n < 40:
        return ("NATO",)
    if n < 50:
        return ("Ukraine", "NATO")
    return ("football",)


def topic_words(topic: str) -> set[str]:
    return {word for word in topic.split() if word in {"Ukraine", "NATO"}}


def recipients_of(topic: str) -> set[int]:
    return {user for user in USERS if topic_words(topic) & set(queries_of(user))}


@dataclass(frozen=True)
class Kill:
    """One kill: when, where the bot was, and what it had sent but not recorded."""

    cycle: int
    anchor: str
    delay: float
    stage: str
    sent_in_run: int
    unrecorded: int
    integrity: str

    def __str__(self) -> str:
        return (
            f"kill {self.cycle:2d}: {self.anchor}+{self.delay:.2f}s stage={self.stage} "
            f"sent={self.sent_in_run} unrecorded={self.unrecorded} integrity={self.integrity}"
        )


@pytest.fixture
def fake() -> Iterator[BotApiFake]:
    with BotApiFake(TOKEN) as api:
        yield api


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with FeedServer() as server:
        yield NewsSite(server)


@pytest.fixture
async def bot(fake: BotApiFake, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(fake, tmp_path)
    try:
        yield process
    finally:
        await process.close()
        print(process.tail())  # pytest shows it only when the test failed


def alert_pairs(ledger: Ledger, start: int) -> list[tuple[int, Pair]]:
    """(run, (first line, chat)) of every message from index start on."""
    return [
        (run, (message.plain_text.splitlines()[0], message.chat_id))
        for run, message in ledger.messages(start)
    ]


def delivered_in_run(pairs: list[tuple[int, Pair]], run: int) -> set[Pair]:
    return {pair for sent_in, pair in pairs if sent_in == run}


def report(kills: list[Kill], accounting: Accounting, extra: str = "") -> str:
    lines = [f"seed {SEED}", *map(str, kills), extra]
    lines.append(
        f"missing={sorted(accounting.missing)[:10]} unexpected={accounting.unexpected[:10]} "
        f"duplicates={accounting.duplicates} by kill={dict(accounting.duplicates_by_kill)} "
        f"without a kill={accounting.duplicates_without_kill}"
    )
    return "\n".join(lines)


async def wait_for_fetch(site: NewsSite, fetches: int, bot: BotProcess) -> None:
    await wait_for(lambda: site.hits > fetches, SETUP_TIMEOUT, "a fetch", alive=bot)


async def subscribe_everyone(bot: BotProcess) -> None:
    for user in USERS:
        bot.fake.user_sends(user, "/subscribe " + ", ".join(queries_of(user)))
    for user in USERS:
        await bot.fake.wait_for_sent(user, count=1, timeout=SETUP_TIMEOUT)


@pytest.mark.slow
async def test_sigkill_during_polls_and_alert_delivery_loses_nothing(
    bot: BotProcess, site: NewsSite
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    site.publish(news_item(0, "Harbour dispatch 0"))
    # Bursts would turn a user's 11th alert of a poll into a digest line, and so would a
    # story that waited two minutes for its chat's turn (on a loaded machine the test runs
    # that long): a limit no user reaches and a wait no story reaches keep one message per
    # (story, user), which is what this test counts.
    bot.overrides.update(
        FEED_URLS=site.url,
        ALERT_BURST_LIMIT="1000",
        ALERT_COALESCE_SECONDS=str(COALESCE_NEVER),
        MAX_MESSAGES_PER_SECOND=str(ALERT_RATE),
    )
    ledger = Ledger(bot.fake)
    await bot.start()
    await subscribe_everyone(bot)
    await wait_for(lambda: feed_primed(bot.database), SETUP_TIMEOUT, "first poll", alive=bot)
    assert await bot.stop() == 0, bot.tail()
    ledger.close_run()
    setup_messages = len(bot.fake.sent())
    bot.fake.set_delay("sendMessage", SEND_DELAY)
    # A poll then lasts at least FETCH_DELAY: kills anchored on a fetch land inside it.
    site.slow_down(FETCH_DELAY)

    expected: set[Pair] = set()
    wave_titles: list[set[str]] = []
    kills: list[Kill] = []
    number = 0
    for cycle in range(KILL_CYCLES):
        if cycle in WAVE_CYCLES:
            items = []
            for topic in WAVE_TOPICS:
                number += 1
                title = f"{topic} dispatch {number}"
                items.append(news_item(number, title))
                expected |= {(title, user) for user in recipients_of(topic)}
            wave_titles.append({item["title"] for item in items})
            site.publish(*items)
        fetches = site.hits
        await bot.start()
        if cycle in WAVE_CYCLES:
            # From the request for the new wave on: the poll is fetching, parsing or saving.
            anchor, delay = "fetch", rng.uniform(0.0, 0.2)
            await wait_for_fetch(site, fetches, bot)
        else:
            anchor, delay = "ready", rng.uniform(0.0, 1.2)
        await asyncio.sleep(delay)
        await bot.kill()
        ledger.close_run()
        rows = outbox_by_status(bot.database)
        pending = rows.get("pending", set())
        sent_now = delivered_in_run(alert_pairs(ledger, setup_messages), len(ledger.boundaries) - 1)
        if not wave_titles[-1] <= story_titles(bot.database):
            stage = "poll"
        elif pending:
            stage = "delivery"
        else:
            stage = "idle"
        kills.append(
            Kill(
                cycle,
                anchor,
                delay,
                stage,
                len(sent_now),
                len(sent_now & pending),
                integrity(bot.database),
            )
        )

    await bot.start()

    def all_delivered() -> bool:
        delivered = {pair for _, pair in alert_pairs(ledger, setup_messages)}
        return expected <= delivered and not outbox_by_status(bot.database).get("pending")

    await wait_while_progressing(
        all_delivered,
        lambda: len(bot.fake.sent()),
        FINISH_STALL,
        "every alert delivered",
        alive=bot,
        step=0.2,
    )
    assert await bot.stop() == 0, bot.tail()
    ledger.close_run()

    accounting = account(alert_pairs(ledger, setup_messages), expected)
    in_flight = {kill.cycle + 1: kill.unrecorded for kill in kills}  # run numbers: 0 is setup
    # A send stays in flight until its outcome is committed: a kill at any instant repeats at
    # most the worker's in-flight limit (4 at 30 msg/s), whatever the kill interrupted.
    bound = sends_in_flight(ALERT_RATE)
    worst = max(accounting.duplicates_by_kill.values(), default=0)
    elapsed = time.monotonic() - started
    summary = report(
        kills,
        accounting,
        f"{len(expected)} alerts, {len(kills)} kills, worst duplicates per kill {worst} "
        f"(bound {bound}), total {accounting.duplicates}, {elapsed:.1f} s",
    )
    print(summary)
    assert len(expected) >= 300
    assert not accounting.missing, summary
    assert not accounting.unexpected, summary
    assert accounting.duplicates_without_kill == 0, summary
    assert all(kill.integrity == "ok" for kill in kills), summary
    # Every duplicate is a message the killed run had sent and not yet recorded, and only those.
    assert {run: n for run, n in accounting.duplicates_by_kill.items() if n} == {
        run: n for run, n in in_flight.items() if n
    }, summary
    assert worst <= bound, summary
    assert max(kill.unrecorded for kill in kills) <= bound, summary
    assert {kill.stage for kill in kills} >= {"poll", "delivery"}, summary
    assert integrity(bot.database, writable=True) == "ok"
    statuses = outbox_by_status(bot.database)
    assert set(statuses) == {"sent"}, summary
    assert statuses["sent"] == expected


BROADCAST_TEXT = "Service notice: maintenance tonight from 22:00"
BROADCAST_RATE = 10
MAX_BROADCAST_KILLS = 10


def broadcast_pairs(ledger: Ledger) -> list[tuple[int, Pair]]:
    return [
        (run, (message.plain_text, message.chat_id))
        for run, message in ledger.messages()
        if message.plain_text == BROADCAST_TEXT and message.chat_id != ADMIN
    ]


async def start_everyone(bot: BotProcess) -> None:
    for user in USERS:
        bot.fake.user_sends(user, "/start")
    for user in USERS:
        await bot.fake.wait_for_sent(user, count=1, timeout=SETUP_TIMEOUT)


async def confirm_broadcast(bot: BotProcess) -> SentMessage:
    """Send /broadcast as the admin and press its Send button; return the confirmation."""
    bot.fake.user_sends(ADMIN, f"/broadcast {BROADCAST_TEXT}")
    preview, confirmation = await bot.fake.wait_for_sent(ADMIN, count=2, timeout=SETUP_TIMEOUT)
    assert preview.plain_text == BROADCAST_TEXT
    send = next(data for data in confirmation.callback_data if data.startswith("bc:ok:"))
    bot.fake.user_presses(ADMIN, confirmation.message_id, send)
    return confirmation


def current(bot: BotProcess, message: SentMessage) -> SentMessage:
    return next(m for m in bot.fake.sent(message.chat_id) if m.message_id == message.message_id)


@pytest.mark.slow
async def test_sigkill_during_a_broadcast_sends_it_once_and_reports(bot: BotProcess) -> None:
    rng = random.Random(SEED + 1)
    bot.overrides.update(ADMIN_IDS=str(ADMIN), MAX_MESSAGES_PER_SECOND=str(BROADCAST_RATE))
    ledger = Ledger(bot.fake)
    await bot.start()
    await start_everyone(bot)
    bot.fake.set_delay("sendMessage", SEND_DELAY)
    confirmation = await confirm_broadcast(bot)
    await wait_for(
        lambda: broadcast_status_message(bot.database) is not None,
        SETUP_TIMEOUT,
        "the confirmed broadcast",
        alive=bot,
    )
    kills: list[Kill] = []
    while len(kills) < MAX_BROADCAST_KILLS:
        delay = rng.uniform(0.0, 1.0)
        await asyncio.sleep(delay)
        await bot.kill()
        ledger.close_run()
        pending = pending_broadcast_users(bot.database)
        run = len(ledger.boundaries) - 1
        sent_now = {chat for _, chat in delivered_in_run(broadcast_pairs(ledger), run)}
        stage = "delivery" if pending else "idle"
        kills.append(
            Kill(
                len(kills),
                "ready" if kills else "confirmed",
                delay,
                stage,
                len(sent_now),
                len(sent_now & pending),
                integrity(bot.database),
            )
        )
        if not pending:
            break
        await bot.start()
    if not bot.running:
        await bot.start()

    def finished() -> bool:
        return current(bot, confirmation).plain_text.startswith("✅ Broadcast finished")

    await wait_for(finished, FINISH_TIMEOUT, "the final report", alive=bot, step=0.1)
    final_report = current(bot, confirmation).plain_text
    assert await bot.stop() == 0, bot.tail()
    ledger.close_run()

    expected = {(BROADCAST_TEXT, user) for user in USERS}
    accounting = account(broadcast_pairs(ledger), expected)
    in_flight = {kill.cycle: kill.unrecorded for kill in kills}
    summary = report(kills, accounting, final_report)
    print(summary)
    assert sum(kill.stage == "delivery" for kill in kills) >= 3, summary
    assert not accounting.missing, summary
    assert not accounting.unexpected, summary
    assert accounting.duplicates_without_kill == 0, summary
    assert {run: n for run, n in accounting.duplicates_by_kill.items() if n} == {
        run: n for run, n in in_flight.items() if n
    }, summary
    assert max(in_flight.values()) <= sends_in_flight(BROADCAST_RATE), summary
    assert all(kill.integrity == "ok" for kill in kills), summary
    delivered = len({chat for _, (_, chat) in broadcast_pairs(ledger)})
    assert final_report == (
        f"✅ Broadcast finished: {delivered} delivered, 0 blocked the bot (marked as blocked), "
        f"0 failed, of {len(USERS)}."
    ), summary
    assert delivered == len(USERS)
    assert broadcast_rows_by_status(bot.database) == {"sent": len(USERS)}
    assert integrity(bot.database, writable=True) == "ok"


async def test_sigkill_right_after_confirming_a_broadcast_still_reports(
    bot: BotProcess,
) -> None:
    bot.overrides.update(ADMIN_IDS=str(ADMIN))
    await bot.start()
    await start_everyone(bot)
    # The bot has committed the broadcast and waits for Telegram to take its "Sending" answer.
    bot.fake.set_delay("answerCallbackQuery", 5.0)
    confirmation = await confirm_broadcast(bot)
    await wait_for(lambda: bool(bot.fake.callback_answers), SETUP_TIMEOUT, "the answer", alive=bot)
    await bot.kill()
    bot.fake.set_delay("answerCallbackQuery", 0)
    await bot.start()
    received = {chat for _, (_, chat) in broadcast_pairs(Ledger(bot.fake))}
    await wait_for(
        lambda: len({chat for _, (_, chat) in broadcast_pairs(Ledger(bot.fake))}) == len(USERS),
        SETUP_TIMEOUT,
        f"the broadcast reaching everyone (so far {len(received)})",
        alive=bot,
    )
    await wait_for(
        lambda: current(bot, confirmation).plain_text.startswith("✅ Broadcast finished"),
        6.0,
        "the final report on the confirmation message",
        alive=bot,
    )


# Secrets, exit statuses and backups


async def test_token_never_reaches_the_logs_and_the_database_is_private(
    bot: BotProcess, site: NewsSite, tmp_path: Path
) -> None:
    user = USERS[0]
    site.publish(news_item(0, "Harbour dispatch 0"))
    bot.overrides.update(FEED_URLS=site.url, LOG_LEVEL="DEBUG")
    await bot.start()
    bot.fake.user_sends(user, "/subscribe Ukraine")
    await bot.fake.wait_for_sent(user, count=1, timeout=SETUP_TIMEOUT)
    await wait_for(lambda: feed_primed(bot.database), SETUP_TIMEOUT, "first poll", alive=bot)
    bot.fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=user)
    site.publish(news_item(1, "Ukraine dispatch 1"))
    sent = await bot.fake.wait_for_sent(user, count=2, timeout=SETUP_TIMEOUT)
    assert sent[1].plain_text.startswith("Ukraine dispatch 1")
    assert any(error[1] == 429 for error in bot.fake.errors)
    for suffix in ("", "-wal", "-shm"):
        path = bot.database.with_name(bot.database.name + suffix)
        assert stat.S_IMODE(path.stat().st_mode) == OWNER_ONLY, path
    assert await bot.stop() == 0, bot.tail()
    # The token is revoked: Telegram answers 401 to it.
    with BotApiFake("7200000123:AAH-someone-elses-token-0123456789") as revoked:
        bot.fake = revoked
        await bot.start(wait_ready=False)
        assert await bot.wait_exit(SETUP_TIMEOUT) == 2, bot.tail()
    logs = bot.all_stderr()
    assert "DEBUG" in logs
    assert "Polled feed" in logs
    assert "Telegram asked to wait" in logs
    assert "401" in logs
    assert TOKEN not in logs
    assert SECRET not in logs
    assert SECRET.lower() not in logs.lower()
    assert stat.S_IMODE(bot.database.stat().st_mode) == OWNER_ONLY


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("newshound: error:")]


async def test_revoked_token_exits_2_with_one_line(tmp_path: Path) -> None:
    with BotApiFake("7200000123:AAH-someone-elses-token-0123456789") as revoked:
        bot = BotProcess(revoked, tmp_path, {"LOG_LEVEL": "WARNING"})
        try:
            await bot.start(wait_ready=False)
            status = await bot.wait_exit(SETUP_TIMEOUT)
        finally:
            await bot.close()
    stderr = bot.stderr()
    assert status == 2, stderr
    assert stderr.splitlines() == [
        "newshound: error: BOT_TOKEN was rejected by Telegram (401 Unauthorized): "
        "check it with @BotFather"
    ], stderr


async def test_revoked_token_at_info_level_has_no_traceback(tmp_path: Path) -> None:
    with BotApiFake("7200000123:AAH-someone-elses-token-0123456789") as revoked:
        bot = BotProcess(revoked, tmp_path, {"LOG_LEVEL": "INFO"})
        try:
            await bot.start(wait_ready=False)
            status = await bot.wait_exit(SETUP_TIMEOUT)
        finally:
            await bot.close()
    stderr = bot.stderr()
    assert status == 2, stderr
    assert "Traceback" not in stderr
    assert len(error_lines(stderr)) == 1, stderr
    assert SECRET not in stderr


async def test_conflict_exits_3_quickly_without_retrying(bot: BotProcess, fake: BotApiFake) -> None:
    fake.fail_next("getUpdates", status=409, description=CONFLICT, times=1000)
    bot.overrides["LOG_LEVEL"] = "INFO"
    await bot.start(wait_ready=False)
    status = await bot.wait_exit(SETUP_TIMEOUT)
    stderr = bot.stderr()
    assert status == 3, stderr
    # Quickly means after a handful of requests, not after a retry loop: counted, not timed.
    assert fake.count_requests("getUpdates") <= 3, "no polling loop against the conflict"
    assert "another instance is polling with this bot token (409 Conflict)" in stderr
    assert error_lines(stderr) == [
        "newshound: error: another instance is already running with this BOT_TOKEN (409 Conflict)"
    ], stderr


async def test_conflict_exit_logs_no_traceback(bot: BotProcess, fake: BotApiFake) -> None:
    fake.fail_next("getUpdates", status=409, description=CONFLICT, times=1000)
    bot.overrides["LOG_LEVEL"] = "INFO"
    await bot.start(wait_ready=False)
    assert await bot.wait_exit(SETUP_TIMEOUT) == 3
    assert "Traceback" not in bot.stderr()


async def test_a_taken_http_port_exits_2_with_one_line(tmp_path: Path, fake: BotApiFake) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = BotProcess(fake, tmp_path, {"HTTP_PORT": str(port), "LOG_LEVEL": "INFO"})
        try:
            await bot.start(wait_ready=False)
            status = await bot.wait_exit(SETUP_TIMEOUT)
        finally:
            await bot.close()
    stderr = bot.stderr()
    assert status == 2, stderr
    assert "Traceback" not in stderr
    [line] = error_lines(stderr)
    assert line.startswith(f"newshound: error: cannot listen on 127.0.0.1:{port} (HTTP_PORT): ")
    assert line.endswith(": choose another port or stop what holds it")


async def test_a_webhook_telegram_refuses_exits_2_with_its_reason(
    tmp_path: Path, fake: BotApiFake
) -> None:
    reason = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
    fake.fail_next("setWebhook", status=400, description=reason)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": "secret",
    }
    bot = BotProcess(fake, tmp_path, settings)
    try:
        await bot.start(wait_ready=False)
        status = await bot.wait_exit(SETUP_TIMEOUT)
    finally:
        await bot.close()
    stderr = bot.stderr()
    assert status == 2, stderr
    assert error_lines(stderr) == [
        "newshound: error: Telegram refused WEBHOOK_URL: "
        "Bad webhook: an https url must be provided for webhook"
    ], stderr


async def test_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = await run_command(["run"], clean_environ({"BOT_TOKEN": None}), tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "newshound: error: BOT_TOKEN is not set: get a token from @BotFather and put "
        "BOT_TOKEN=<token> in the environment or in .env"
    ]
    assert file_names(tmp_path) == [], "nothing created"


async def test_backup_while_the_bot_delivers(
    bot: BotProcess, site: NewsSite, tmp_path: Path
) -> None:
    site.publish(news_item(0, "Harbour dispatch 0"))
    bot.overrides.update(FEED_URLS=site.url, MAX_MESSAGES_PER_SECOND="20")
    await bot.start()
    await subscribe_everyone(bot)
    await wait_for(lambda: feed_primed(bot.database), SETUP_TIMEOUT, "first poll", alive=bot)
    bot.fake.set_delay("sendMessage", SEND_DELAY)
    topics = ("Ukraine", "NATO", "Ukraine and NATO")
    titles = [f"{topic} dispatch {n}" for n, topic in enumerate(topics, start=1)]
    site.publish(*[news_item(n, title) for n, title in enumerate(titles, start=1)])
    expected = {
        (title, user)
        for title, topic in zip(titles, topics, strict=True)
        for user in recipients_of(topic)
    }
    await wait_for(
        lambda: bool(outbox_by_status(bot.database).get("sent")),
        SETUP_TIMEOUT,
        "the first recorded alerts",
        alive=bot,
    )
    copies = []
    for attempt in range(3):
        target = tmp_path / "backups" / f"copy-{attempt}.sqlite3"
        target.parent.mkdir(exist_ok=True)
        environ = clean_environ({"DATABASE_PATH": str(bot.database)})
        result = await run_command(["backup", str(target)], environ, tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"Backed up {bot.database} to {target}"
        copies.append(target)
    assert file_names(copies[0].parent) == [p.name for p in copies], "no partial copy left"
    await wait_for(
        lambda: outbox_by_status(bot.database) == {"sent": expected},
        FINISH_TIMEOUT,
        "delivery to finish",
        alive=bot,
    )
    assert await bot.stop() == 0, bot.tail()
    assert "Storage unavailable" not in bot.all_stderr()
    sent_during: list[int] = []
    for copy in copies:
        assert stat.S_IMODE(copy.stat().st_mode) == OWNER_ONLY, copy
        assert integrity(copy) == "ok"
        assert count_rows(copy, "chats") == len(USERS)
        assert count_rows(copy, "subscriptions") == sum(len(queries_of(u)) for u in USERS)
        rows = outbox_by_status(copy)
        queued = set[Pair]().union(*rows.values())
        # Each pair is in the copy: queued as a row, or matched and not yet claimed.
        assert queued | unclaimed_pairs(copy) == expected, "the poll's matches are in the copy"
        assert not queued & unclaimed_pairs(copy), "a claimed pair is not pending as well"
        sent_during.append(len(rows.get("sent", set())))
    assert 0 < sent_during[0] < len(expected), "the first copy was taken mid-delivery"
    assert sent_during == sorted(sent_during), "each copy is at least as recent as the one before"


async def test_a_killed_bot_leaves_no_processes_behind(bot: BotProcess, site: NewsSite) -> None:
    site.publish(news_item(0, "Harbour dispatch 0"))
    bot.overrides.update(FEED_URLS=site.url)
    run = await bot.start()
    await wait_for(lambda: feed_primed(bot.database), SETUP_TIMEOUT, "first poll", alive=bot)
    assert len(group_members(run.pid)) > 1, "the parse started worker processes"
    await bot.kill(clean_group=False)
    try:
        await wait_for(lambda: not group_members(run.pid), 3.0, "the bot's processes to exit")
    finally:
        kill_group(run.pid)


async def test_a_crashed_background_task_stops_the_bot_with_status_1(bot: BotProcess) -> None:
    await bot.start()
    assert await bot.stop() == 0
    # A release whose queries and schema disagree: the poller's first read is a SQL bug.
    with contextlib.closing(sqlite3.connect(bot.database)) as db, db:
        db.execute("ALTER TABLE feeds RENAME COLUMN next_poll_at TO next_poll")
    await bot.start(wait_ready=False)
    status = await bot.wait_exit(SETUP_TIMEOUT)
    stderr = bot.stderr()
    assert status == 1, stderr
    assert "poller stopped unexpectedly; shutting down" in stderr
    assert error_lines(stderr) == [
        "newshound: error: the poller task stopped unexpectedly (see the log above); stopped"
    ], stderr
