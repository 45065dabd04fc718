"""Scenario 9: fair under overload, 10x more (story, chat) pairs due than Telegram allows.

A discrete-time simulation in virtual time (bench/overload_sim.py) that drives the REAL
DeliveryWorker, its run() loop included (Claimer, ChatQueues, ChatPacer, burst.plan_claim,
storage claims and outcome commits on a real SQLite database); only its idle sleep moves the
virtual clock instead. A fake bot accepts each message in the next 1/rate slot of virtual
time, so sends cannot exceed the global cap; a backlog costs virtual, not wall, time.

Workload (bench/overload_workload.py): the Zipf subscriptions of bench/workload.py for
`overload_chats` chats, indexed by the real SubscriptionIndex; each poll interval a burst of
the most widely matched stories, saved through the real Storage.save_poll, makes
OVERLOAD_FACTOR x the interval's capacity of (story, chat) pairs due. The expected pairs are
fanned out from the subscription list, not by the worker; the delivered ones are read from
the texts the fake bot received (bench/overload_measure.py).
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bench.common import Figure, Run, Stopwatch, at_most, percentile
from bench.harness import create_database, populate
from bench.matching import build_index
from bench.overload_measure import delivered, over_chat_pace, over_global_cap
from bench.overload_sim import VirtualBot, VirtualClock, VirtualWorker
from bench.overload_workload import (
    FEED_URL,
    Burst,
    plan_bursts,
    save_burst,
    subscriptions_for,
)
from bot.app import sends_in_flight
from bot.delivery.ratelimit import CHAT_BURST, CHAT_RATE_PER_SECOND
from bot.storage.sqlite import SqliteStorage

if TYPE_CHECKING:
    from telegram import Bot

SCENARIO = "9 overload"
# The production default ALERT_BURST_LIMIT.
BURST_LIMIT = 10
# The bound on the oldest pending story's age, in poll intervals.
AGE_TARGET_INTERVALS = 2.0


async def run(run: Run) -> list[Figure]:
    """Build the workload, run the simulation once (it is deterministic), report."""
    sizes = run.sizes
    subscriptions = subscriptions_for(run)
    index = build_index(subscriptions)
    audience_of: dict[str, set[int]] = defaultdict(set)
    for chat_id, query, _ in subscriptions:
        audience_of[query].add(chat_id)
    start = float(int(time.time()))
    bursts, expected = plan_bursts(run, index, audience_of, start)
    run.log(
        f"  {sizes.overload_chats:,} chats, stories per interval "
        f"{[len(b.stories) for b in bursts]}, pairs due {[b.pairs for b in bursts]}"
    )
    database = run.scratch("overload") / "newshound.sqlite3"
    await create_database(database)
    chats = sorted({chat_id for chat_id, _, _ in subscriptions})
    populate(database, user_ids=chats, subscriptions=subscriptions, feed_urls=[FEED_URL])
    clock = VirtualClock(start)
    bot = VirtualBot(clock, sizes.overload_rate)
    storage = await SqliteStorage.open(database)
    try:
        feed = await storage.get_feed_by_url(FEED_URL)
        assert feed is not None
        worker = VirtualWorker(
            cast("Bot", bot),
            storage,
            index.subscribers,
            burst_limit=BURST_LIMIT,
            concurrency=sends_in_flight(sizes.overload_rate),
            clock=clock,
        )
        for burst in bursts:

            async def poll(burst: Burst = burst) -> None:
                await save_burst(storage, feed.id, burst, index)
                worker.notify()

            clock.at(burst.at, poll)
        with Stopwatch() as watch:
            await worker.run(asyncio.Event())
        counts = await storage.outbox_counts()
    finally:
        await storage.close()
    lags, unsent = claimed_rows(database)
    *measured, wall_time = figures(run, bursts, expected, bot, worker.stuck, watch.seconds, counts)
    return [
        *measured,
        Figure(
            SCENARIO,
            "claimed row's wait to be sent, p99",
            percentile(lags, 0.99),
            "s",
            note=f"outbox created_at (the claim) to sent_at; max {max(lags, default=0):,.0f} s",
        ),
        Figure(
            SCENARIO,
            "claimed rows not yet sent, peak",
            float(unsent),
            "rows",
            note="stories claimed from the match log into the outbox whose message had not "
            "gone yet: how far claims ran ahead of sends",
        ),
        wall_time,
    ]


def claimed_rows(database: Path) -> tuple[list[float], int]:
    """Return each sent outbox row's wait from claim to send, and the most rows that were
    claimed and not yet sent at once."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT created_at, sent_at FROM outbox WHERE status = 'sent'"
        ).fetchall()
    finally:
        connection.close()
    changes = sorted([(created, 1) for created, _ in rows] + [(sent, -1) for _, sent in rows])
    current = peak = 0
    for _, change in changes:
        current += change
        peak = max(peak, current)
    return [sent - created for created, sent in rows], peak


def figures(
    run: Run,
    bursts: Sequence[Burst],
    expected: dict[int, set[int]],
    bot: VirtualBot,
    stuck: bool,
    wall_seconds: float,
    counts: dict[str, int],
) -> list[Figure]:
    """Turn the recorded messages into the scenario's figures."""
    sizes = run.sizes
    rate, interval = sizes.overload_rate, sizes.overload_interval
    saved_at = {number: b.at for b in bursts for number, _, _ in b.stories}
    got = delivered(bot.sent, saved_at)
    due = {(chat, story) for story, chats in expected.items() for chat in chats}
    lost = len(due - got.pairs.keys())
    stray = len(got.pairs.keys() - due)
    twice = sum(count - 1 for count in got.pairs.values() if count > 1)
    pairs = sum(min(count, 1) for count in got.pairs.values())
    messages = len(bot.sent)
    # One round: every other chat with work gets its message first (plus the sends in flight).
    in_flight = sends_in_flight(rate)
    bound = (got.peak_chats_with_work + in_flight) / rate
    span = (bot.sent[-1].at - bursts[0].at) / interval if bot.sent else 0.0
    per_interval = [len({c for n, _, _ in b.stories for c in expected[n]}) for b in bursts]
    ages = [age / interval for age in got.ages]
    between = [m.chat_id for m in bot.sent if got.worst[0] < m.at < got.worst[1]]
    fit = rate * interval
    return [
        Figure(
            SCENARIO,
            "(story, chat) pairs due",
            float(len(due)),
            "pairs",
            note=f"{sizes.overload_chats:,} chats, {len(bursts)} polls {interval} s apart, "
            f"{sum(b.pairs for b in bursts) / len(bursts) / fit:.1f}x the {fit:,} msgs an "
            f"interval allows at {rate}/s; chats with work per poll {per_interval}",
        ),
        Figure(
            SCENARIO,
            "pairs lost",
            float(lost),
            "pairs",
            at_most(0, "pairs"),
            f"outbox rows sent {counts.get('sent', 0):,}, pending {counts.get('pending', 0):,}; "
            f"not due but sent {stray}" + ("; the worker got STUCK" if stuck else ""),
        ),
        Figure(SCENARIO, "pairs delivered twice", float(twice), "pairs", at_most(0, "pairs")),
        Figure(
            SCENARIO,
            "messages sent",
            float(messages),
            "msgs",
            note=f"{pairs:,} pairs; {got.single_story:,} msgs carried one story (alerts, "
            "or a digest of one), the rest several",
        ),
        Figure(
            SCENARIO,
            "stories per message (coalescing)",
            pairs / max(1, messages),
            "stories/msg",
            note=f"messages without a story link: {got.empty_messages}",
        ),
        Figure(
            SCENARIO,
            "chat's wait for its next message with work pending, p99",
            percentile(got.waits, 0.99),
            "s",
        ),
        Figure(
            SCENARIO,
            "chat's wait for its next message with work pending, max",
            max(got.waits, default=float("nan")),
            "s",
            at_most(math.ceil(bound * 10) / 10, "s"),
            f"bound: one round, (peak chats with work {got.peak_chats_with_work:,} + "
            f"{in_flight} in flight) / {rate} msg/s; "
            f"the worst wait saw {len(between):,} msgs to {len(set(between)):,} chats",
        ),
        Figure(
            SCENARIO,
            "oldest pending story's age at delivery, p50",
            percentile(ages, 0.5),
            "intervals",
        ),
        Figure(
            SCENARIO,
            "oldest pending story's age at delivery, p99",
            percentile(ages, 0.99),
            "intervals",
        ),
        Figure(
            SCENARIO,
            "oldest pending story's age at delivery, max",
            max(ages, default=float("nan")),
            "intervals",
            at_most(AGE_TARGET_INTERVALS, "intervals"),
            f"reachable only while the chats with new work each interval (up to "
            f"{max(per_interval):,} here) fit in the {fit:,} msgs an interval allows",
        ),
        Figure(
            SCENARIO,
            "sends over the global cap",
            float(over_global_cap((m.at for m in bot.sent), rate)),
            "msgs",
            at_most(0, "msgs"),
            f"{rate} msg/s of virtual time; backlog drained after {span:.1f} intervals",
        ),
        Figure(
            SCENARIO,
            "sends over a chat's pace",
            float(over_chat_pace(bot.sent, CHAT_RATE_PER_SECOND, CHAT_BURST)),
            "msgs",
            at_most(0, "msgs"),
        ),
        Figure(SCENARIO, "simulation wall time", wall_seconds, "s", note="virtual time inside"),
    ]
