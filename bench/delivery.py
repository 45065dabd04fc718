"""Scenario 3: the outbox worker against the Bot API fake enforcing Telegram's limits.

Real DeliveryWorker, real PTB bot built by the production Application builder (HTML defaults,
its rate limiter at MAX_MESSAGES_PER_SECOND), rows queued by the production Storage.save_poll.
The fake answers 429 with retry_after beyond its limits: overall rate, ~1/s per chat with a
burst of 3. Rates are measured from the worker's start to the last accepted message, on the
fake's clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Figure, Run, at_least, at_most, median
from bench.harness import RemoteBotApi, bench_settings, create_database, populate, telegram_bot
from bot.app import sends_in_flight
from bot.delivery.worker import DeliveryWorker
from bot.ingest.stories import story_from_entry
from bot.matching.expand import shipped_aliases
from bot.storage import PollToSave, Storage, StoryToSave
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import analyze

SCENARIO = "3 delivery"
FEED_URL = "https://bench.example/feed.xml"
FIRST_CHAT = 5_000_000
# Every chat subscribes to it; the worker fans each story out to all of them when it sends.
QUERY = "ukraine"
ALERT_TITLE = "Ukraine and NATO ministers meet in Brussels on air defence"
ALERT_SUMMARY = (
    "Defence ministers from NATO countries met their Ukrainian counterpart in Brussels on "
    "Tuesday to discuss air defence, ammunition and training. The alliance's secretary "
    "general said members had pledged new systems & more funding <b>this year</b>, and that "
    "deliveries would start within weeks. Officials did not give figures."
)
WAIT_STEP = 0.1
# Generous: the run normally takes count / rate seconds.
TIMEOUT_FACTOR = 3
TIMEOUT_EXTRA = 30.0
LONG_RUN_REPEAT = 2


@dataclass(frozen=True)
class DeliveryRun:
    """What one delivery run achieved."""

    queued: int
    accepted: int
    lost: int
    duplicates: int
    rate: float
    seconds: float
    rate_limited: int


async def queue_alerts(
    storage: Storage, feed_id: int, stories: int, chats: Sequence[int], now: float
) -> int:
    """Queue one alert per (story, chat) through the production save_poll; return the count.

    One poll per story, with a burst limit of `stories`: every one is a separate alert
    (past ALERT_BURST_LIMIT alerts to a chat within the burst window, the rest would become
    one digest).
    """
    queued = 0
    for number in range(stories):
        story = story_from_entry(
            feed_id,
            f"urn:bench:alert:{number}",
            f"https://bench.example/alert/{number}",
            f"{ALERT_TITLE} #{number}",
            datetime.now(UTC),
            ALERT_SUMMARY,
        )
        analyzed = analyze(story.title + "\n" + ALERT_SUMMARY)
        saved = await storage.save_poll(
            PollToSave(
                feed_id=feed_id,
                url=FEED_URL,
                title="Bench Wire",
                etag=None,
                last_modified=None,
                next_poll_at=now + 300,
                now=now,
                alerts_enabled=True,
                stories=(StoryToSave(story=story, analyzed=analyzed, alertable=True),),
            ),
            match=lambda _: (QUERY,),
        )
        queued += saved.matched * len(chats)
    return queued


async def deliver(directory: Path, *, stories: int, chats: Sequence[int], rate: int) -> DeliveryRun:
    """Queue stories x chats alerts and let the worker send them all; measure."""
    database = directory / "newshound.sqlite3"
    await create_database(database)
    await asyncio.to_thread(
        populate,
        database,
        user_ids=chats,
        subscriptions=[(chat, QUERY, "Ukraine") for chat in chats],
        feed_urls=[FEED_URL],
    )
    with RemoteBotApi() as api:
        await api.acall(
            "enforce_limits", global_per_second=rate, per_chat_per_second=1.0, per_chat_burst=3
        )
        settings = bench_settings(api.url, database, MAX_MESSAGES_PER_SECOND=str(rate))
        storage = await SqliteStorage.open(database)
        try:
            feed = await storage.get_feed_by_url(FEED_URL)
            assert feed is not None
            queued = await queue_alerts(storage, feed.id, stories, chats, time.time())
            # Loaded before delivery starts, as bot.app.build_services does: else the first
            # alert's bold marks load the alias table and uk/ru dictionaries on the loop,
            # a start-up cost (0.3-2 s) the bot does not pay while sending.
            await asyncio.to_thread(shipped_aliases)
            async with telegram_bot(settings) as bot:
                audience = dict.fromkeys(chats, ("Ukraine",))
                worker = DeliveryWorker(
                    bot,
                    storage,
                    lambda query: audience if query == QUERY else {},
                    # Every story a separate alert (past the limit they would be one digest).
                    burst_limit=stories,
                    concurrency=sends_in_flight(settings.max_messages_per_second),
                )
                stop = asyncio.Event()
                started = time.monotonic()
                task = asyncio.create_task(worker.run(stop), name="delivery")
                deadline = started + queued / rate * TIMEOUT_FACTOR + TIMEOUT_EXTRA
                while await api.acall("send_count") < queued and time.monotonic() < deadline:
                    if task.done():
                        break
                    await asyncio.sleep(WAIT_STEP)
                stop.set()
                await task
            counts = await storage.outbox_counts()
        finally:
            await storage.close()
        sends = api.sends()
        counters = api.counters()
    distinct = {(send.chat_id, send.text) for send in sends}
    last = max((send.at for send in sends), default=started)
    seconds = max(last - started, 1e-9)
    return DeliveryRun(
        queued=queued,
        accepted=len(sends),
        lost=queued - min(len(distinct), counts.get("sent", 0)),
        duplicates=len(sends) - len(distinct),
        rate=len(sends) / seconds,
        seconds=seconds,
        rate_limited=counters["rate_limited"],
    )


async def run(run: Run) -> list[Figure]:
    """Broadcast-size run at 30/s, 20 alerts to one chat, and the 300/s paid tier."""
    sizes = run.sizes
    chats = list(range(FIRST_CHAT, FIRST_CHAT + sizes.alerts))
    many: list[DeliveryRun] = []
    one: list[DeliveryRun] = []
    paid: list[DeliveryRun] = []
    for number in range(run.repeat):
        # The 30/s run lasts ~100 s and its rate is steady: two repetitions keep the whole
        # suite within its 15 minutes.
        if number < LONG_RUN_REPEAT:
            many.append(
                await deliver(
                    run.scratch(f"delivery-many-{number}"), stories=1, chats=chats, rate=30
                )
            )
            run.log(f"  {sizes.alerts} chats at 30/s: {many[-1]}")
        one.append(
            await deliver(
                run.scratch(f"delivery-one-{number}"),
                stories=sizes.one_chat_alerts,
                chats=[FIRST_CHAT],
                rate=30,
            )
        )
        run.log(f"  {sizes.one_chat_alerts} alerts to one chat: {one[-1]}")
        paid.append(
            await deliver(
                run.scratch(f"delivery-paid-{number}"), stories=1, chats=chats, rate=sizes.paid_rate
            )
        )
        run.log(f"  {sizes.alerts} chats at {sizes.paid_rate}/s: {paid[-1]}")

    def rates(runs: list[DeliveryRun]) -> tuple[float, ...]:
        return tuple(r.rate for r in runs)

    limited = tuple(100 * r.rate_limited / max(1, r.accepted + r.rate_limited) for r in many)
    return [
        Figure(
            SCENARIO,
            f"{sizes.alerts:,} alerts to {sizes.alerts:,} chats: rate",
            median(rates(many)),
            "msg/s",
            at_least(0.95 * 30, "msg/s"),
            f"{median(tuple(r.seconds for r in many)):.1f} s; {len(many)} runs",
            rates(many),
        ),
        Figure(
            SCENARIO,
            f"{sizes.alerts:,} alerts: lost",
            float(max(r.lost for r in many)),
            "msgs",
            at_most(0, "msgs"),
            f"duplicates: {max(r.duplicates for r in many)} (worst run)",
        ),
        Figure(
            SCENARIO,
            f"{sizes.alerts:,} alerts: 429 answers",
            median(limited),
            "% of sends",
            at_most(1, "% of sends"),
            f"counts: {[r.rate_limited for r in many]}",
            limited,
        ),
        Figure(
            SCENARIO,
            f"{sizes.one_chat_alerts} alerts to one chat: delivered",
            float(min(r.accepted - r.duplicates for r in one)),
            "msgs",
            at_least(sizes.one_chat_alerts, "msgs"),
            f"in {median(tuple(r.seconds for r in one)):.1f} s (worst run counted)",
        ),
        Figure(
            SCENARIO,
            f"{sizes.one_chat_alerts} alerts to one chat: 429 answers",
            float(max(r.rate_limited for r in one)),
            "429s",
            at_most(1, "429s"),
            "worst run; a storm would be one per send attempt",
        ),
        Figure(
            SCENARIO,
            f"paid tier {sizes.paid_rate}/s: rate",
            median(rates(paid)),
            "msg/s",
            at_least(0.95 * sizes.paid_rate, "msg/s"),
            f"lost {max(r.lost for r in paid)}, 429s {[r.rate_limited for r in paid]}",
            rates(paid),
        ),
    ]
