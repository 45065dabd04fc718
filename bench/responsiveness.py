"""Scenario 5: /list answers while a cold poll cycle and a broadcast run at the same time.

Also: another user's /start answer while one chat floods the bot with 100 commands.

The whole bot runs through the composition root (bot.app.run_bot): long polling of the Bot
API fake (with Telegram's limits), the poller and the delivery worker. At start every feed
is due with new content (a cold cycle, as in scenario 2) and a broadcast to every user has
just been confirmed (Storage.create_broadcast and confirm_broadcast, what /broadcast does).
One user at a time sends /list; the latency is from the update being available to the fake
accepting the reply. Only answers asked while the cold cycle runs are counted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench import matching, poll_cycle
from bench.common import Figure, Run, at_most, median, percentile
from bench.harness import (
    RemoteBotApi,
    RemoteFeeds,
    bench_settings,
    count_rows,
    create_database,
    feed_path,
    populate,
)
from bot.app import run_bot
from bot.storage.sqlite import SqliteStorage

SCENARIO = "5 responsiveness"
ADMIN = 9_000_001
ASKERS = 10
REPLY_NEEDLE = "Your subscriptions"
REPLY_TIMEOUT = 10.0
ASK_GAP_SECONDS = 0.1
STARTUP_TIMEOUT = 60.0
# Without a cycle to wait for, ask for about as long as a full-size cycle takes.
WINDOW_SECONDS = 20.0
SMOKE_WINDOW_SECONDS = 2.0
# Each load alone, once, to tell which one the latency comes from.
ALONE = (("idle", False, False), ("broadcast only", False, True), ("cold cycle only", True, False))
FLOODER = 9_000_002
FLOOD_COMMANDS = 100
FLOOD_REPLY_NEEDLE = "Hello, Bench"
FLOOD_TARGET_MS = 3000
BROADCAST_TEXT = "Newshound will be down for maintenance on Sunday from 02:00 to 03:00 UTC."


@dataclass(frozen=True)
class Answers:
    """The /list latencies of one repetition and what ran meanwhile."""

    latencies: tuple[float, ...]
    lost: int
    seconds: float
    delivered: int
    recipients: int

    def padded(self) -> list[float]:
        """Return latencies with each lost reply counted as the timeout."""
        return [*self.latencies, *([REPLY_TIMEOUT] * self.lost)]


async def _polling(api: RemoteBotApi, bot: asyncio.Task[None]) -> None:
    """Wait until the bot long-polls the fake; fail if it stopped or took too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while await api.acall("count_requests", "getUpdates") == 0:
        if bot.done() or time.monotonic() > deadline:
            bot.result()
            raise RuntimeError("the bot did not start polling")
        await asyncio.sleep(0.02)


async def _prepare(run: Run, database: Path, urls: list[str], *, broadcast: bool) -> int:
    sizes = run.sizes
    data = matching.workload(run)
    population = min(sizes.poll_users, sizes.alerts)
    await create_database(database)
    await asyncio.to_thread(
        populate,
        database,
        user_ids=range(1, sizes.alerts + 1),
        subscriptions=[s for s in data.subscriptions if s[0] <= population],
        feed_urls=urls,
        primed=True,
    )
    if not broadcast:
        return 0
    storage = await SqliteStorage.open(database)
    try:
        now = time.time()
        draft = await storage.create_broadcast(ADMIN, BROADCAST_TEXT, now)
        recipients = await storage.confirm_broadcast(draft.id, ADMIN, now)
    finally:
        await storage.close()
    return recipients or 0


async def one_repetition(
    run: Run, number: int, *, cycle: bool = True, broadcast: bool = True
) -> Answers:
    """Start the bot with the load, ask /list until every feed was polled once.

    Without the cycle (no feeds), ask for as long as the cycle took in full mode.
    """
    sizes = run.sizes
    database = run.scratch(f"responsiveness-{number}") / "newshound.sqlite3"
    latencies: list[float] = []
    lost = 0
    feed_count = sizes.feeds if cycle else 0
    with RemoteFeeds() as feeds, RemoteBotApi() as api:
        urls = [feeds.url(feed_path(feed)) for feed in range(feed_count)]
        recipients = await _prepare(run, database, urls, broadcast=broadcast)
        if cycle:
            bodies = await asyncio.to_thread(poll_cycle.make_bodies, run, f"r{number}")
            await feeds.acall("set_feeds", bodies)
        await api.acall(
            "enforce_limits", global_per_second=30, per_chat_per_second=1.0, per_chat_burst=3
        )
        settings = bench_settings(api.url, database)
        stop = asyncio.Event()
        bot = asyncio.create_task(run_bot(settings, stop), name="bot")
        try:
            await _polling(api, bot)
            started = time.monotonic()
            window = SMOKE_WINDOW_SECONDS if run.smoke else WINDOW_SECONDS
            sql = "SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL"
            asked = 0
            while (
                await asyncio.to_thread(count_rows, database, sql) < feed_count
                if cycle
                else time.monotonic() - started < window
            ):
                if bot.done():
                    bot.result()
                user = 1 + asked % ASKERS
                start, sent_at = await api.acall("timed_user_sends", user, "/list")
                answered = await api.acall(
                    "wait_for_text", user, REPLY_NEEDLE, start, REPLY_TIMEOUT
                )
                asked += 1
                if answered is None:
                    lost += 1
                else:
                    latencies.append(answered - sent_at)
                await asyncio.sleep(ASK_GAP_SECONDS)
            seconds = time.monotonic() - started
            delivered = await api.acall("send_count")
        finally:
            stop.set()
            await bot
    return Answers(tuple(latencies), lost, seconds, delivered, recipients)


async def flooded_reply(run: Run, number: int) -> float | None:
    """Seconds from another user's /start to its answer while one chat sends 100 commands."""
    database = run.scratch(f"responsiveness-flood-{number}") / "newshound.sqlite3"
    await create_database(database)
    with RemoteBotApi() as api:
        await api.acall(
            "enforce_limits", global_per_second=30, per_chat_per_second=1.0, per_chat_burst=3
        )
        stop = asyncio.Event()
        bot = asyncio.create_task(run_bot(bench_settings(api.url, database), stop), name="bot")
        try:
            await _polling(api, bot)
            await api.acall("flood", FLOODER, "/help", FLOOD_COMMANDS)
            start, sent_at = await api.acall("timed_user_sends", ASKERS + 1, "/start")
            answered = await api.acall(
                "wait_for_text", ASKERS + 1, FLOOD_REPLY_NEEDLE, start, REPLY_TIMEOUT
            )
        finally:
            stop.set()
            await bot
    return None if answered is None else answered - sent_at


async def flood_figure(run: Run) -> Figure:
    """Another user's reply while one chat floods: the worst of the repetitions."""
    seconds = [await flooded_reply(run, number) for number in range(run.repeat)]
    samples = tuple(REPLY_TIMEOUT * 1000 if s is None else s * 1000 for s in seconds)
    run.log(f"  another user's reply while one chat floods: {max(samples):.0f} ms")
    return Figure(
        SCENARIO,
        "another user's reply while one chat floods",
        max(samples),
        "ms",
        at_most(FLOOD_TARGET_MS, "ms"),
        f"{FLOOD_COMMANDS} commands from one chat queued just before; worst of {len(samples)}",
        samples,
    )


async def run(run: Run) -> list[Figure]:
    """Ask /list over and over while the bot is busiest; measure each answer."""
    sizes = run.sizes
    repetitions: list[Answers] = []
    for number in range(run.repeat):
        answers = await one_repetition(run, number)
        repetitions.append(answers)
        padded = answers.padded()
        run.log(
            f"  repetition {number + 1}: {len(padded)} asked in {answers.seconds:.1f} s, "
            f"p50 {percentile(padded, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(padded, 0.99) * 1000:.0f} ms, lost {answers.lost}, "
            f"{answers.delivered} messages sent meanwhile"
        )
    alone: list[Figure] = []
    for offset, (label, cycle, broadcast) in enumerate(ALONE):
        answers = await one_repetition(run, run.repeat + offset, cycle=cycle, broadcast=broadcast)
        padded = answers.padded()
        alone.append(
            Figure(
                SCENARIO,
                f"/list reply p50, {label}",
                percentile(padded, 0.5) * 1000,
                "ms",
                note=f"p99 {percentile(padded, 0.99) * 1000:.0f} ms, {len(padded)} asked in "
                f"{answers.seconds:.0f} s, {answers.lost} lost; 1 run",
                samples=tuple(v * 1000 for v in padded),
            )
        )
        run.log(f"  {label}: {alone[-1].value:.0f} ms, {alone[-1].note}")
    p50s = tuple(percentile(a.padded(), 0.5) * 1000 for a in repetitions)
    p99s = tuple(percentile(a.padded(), 0.99) * 1000 for a in repetitions)
    first = repetitions[0]
    note = (
        f"~{len(first.padded())} asked per {first.seconds:.0f} s cold cycle of {sizes.feeds} "
        f"feeds, broadcast to {first.recipients:,} users "
        f"({first.delivered:,} messages sent meanwhile)"
    )
    return [
        Figure(SCENARIO, "/list reply p50 under load", median(p50s), "ms", note=note, samples=p50s),
        Figure(
            SCENARIO,
            "/list reply p99 under load",
            median(p99s),
            "ms",
            at_most(250, "ms"),
            "median of the repetitions' p99",
            p99s,
        ),
        Figure(
            SCENARIO,
            "/list replies lost (none within 10 s)",
            float(max(a.lost for a in repetitions)),
            "replies",
            at_most(0, "replies"),
        ),
        *alone,
        await flood_figure(run),
    ]
