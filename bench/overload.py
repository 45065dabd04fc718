"""Scenario 9: fair under overload, 10x more (story, chat) pairs due than Telegram allows.

A discrete-time simulation in virtual time (bench/overload_sim.py) that drives the REAL
DeliveryWorker, its run() loop included (Claimer, ChatQueues, ChatPacer, burst.plan_claim,
storage claims and outcome commits on a real SQLite database); only its idle sleep moves the
virtual clock instead. A fake bot accepts each message in the next 1/rate slot of virtual
time, so sends cannot exceed the global cap; a backlog costs virtual, not wall, time.

Workload (bench/overload_workload.py): the Zipf subscriptions of bench/workload.py for
`overload_chats` chats, indexed by the real SubscriptionIndex. Two runs, each poll interval
saving a burst through the real Storage.save_poll that makes OVERLOAD_FACTOR x the
interval's capacity of (story, chat) pairs due: the wide burst (the most widely matched
stories, reaching most of the audience) and the focused burst (one topic's stories, to the
chats that follow it, each many times over). The expected pairs are fanned out from the
subscription list, not by the worker; the delivered ones are read from the texts the fake
bot received (bench/overload_measure.py, figures in bench/overload_figures.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from bench.common import Figure, Run, Stopwatch, percentile
from bench.harness import create_database, populate
from bench.matching import build_index
from bench.overload_figures import SCENARIO, claimed_rows, figures
from bench.overload_sim import VirtualBot, VirtualClock, VirtualWorker
from bench.overload_workload import (
    FEED_URL,
    Burst,
    focus_subscriptions,
    plan_bursts,
    plan_focused,
    save_burst,
    subscriptions_for,
)
from bench.workload import Subscription
from bot.app import sends_in_flight
from bot.matching.index import SubscriptionIndex
from bot.storage.sqlite import SqliteStorage

if TYPE_CHECKING:
    from telegram import Bot

# The production default ALERT_BURST_LIMIT.
BURST_LIMIT = 10


async def run(run: Run) -> list[Figure]:
    """Build the workload, run each simulation once (they are deterministic), report."""
    sizes = run.sizes
    base = subscriptions_for(run)
    focus = focus_subscriptions(run, base)
    subscriptions = [*base, *focus]
    index = build_index(subscriptions)
    audience_of: dict[str, set[int]] = defaultdict(set)
    for chat_id, query, _ in subscriptions:
        audience_of[query].add(chat_id)
    start = float(int(time.time()))
    wide = plan_bursts(run, index, audience_of, start)
    focused = plan_focused(run, index, focus, start)
    result: list[Figure] = []
    for name, (bursts, expected) in (("overload", wide), ("overload-focused", focused)):
        run.log(
            f"  {name}: {sizes.overload_chats:,} chats, stories per interval "
            f"{[len(b.stories) for b in bursts]}, pairs due {[b.pairs for b in bursts]}"
        )
        result += await simulate(
            run, name, subscriptions, index, bursts, expected, focused=name != "overload"
        )
    return result


async def simulate(
    run: Run,
    name: str,
    subscriptions: list[Subscription],
    index: SubscriptionIndex,
    bursts: Sequence[Burst],
    expected: dict[int, set[int]],
    *,
    focused: bool,
) -> list[Figure]:
    """Run the real worker through the bursts in virtual time; return the figures."""
    sizes = run.sizes
    database = run.scratch(name) / "newshound.sqlite3"
    await create_database(database)
    chats = sorted({chat_id for chat_id, _, _ in subscriptions})
    populate(database, user_ids=chats, subscriptions=subscriptions, feed_urls=[FEED_URL])
    clock = VirtualClock(bursts[0].at)
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
    measured = figures(
        run, bursts, expected, bot, worker.stuck, watch.seconds, counts, focused=focused
    )
    prefix = "focused burst: " if focused else ""
    return [
        *measured[:-1],
        Figure(
            SCENARIO,
            f"{prefix}claimed row's wait to be sent, p99",
            percentile(lags, 0.99),
            "s",
            note=f"outbox created_at (the claim) to sent_at; max {max(lags, default=0):,.0f} s",
        ),
        Figure(
            SCENARIO,
            f"{prefix}claimed rows not yet sent, peak",
            float(unsent),
            "rows",
            note="stories claimed from the match log into the outbox whose message had not "
            "gone yet: how far claims ran ahead of sends",
        ),
        measured[-1],
    ]
