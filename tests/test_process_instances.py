"""Three real `newshound run` processes on one PostgreSQL share the work; one is SIGKILLed.

Issue 15 item 6: N processes with the same token and database share the work with nothing
lost or sent twice beyond the sends in flight; each due feed is polled by one instance per
interval; together they stay within Telegram's global rate; in polling mode one instance
holds the polling lock and another takes over when it dies.

The instances reach the Bot API fake each through its own URL prefix, so the fake knows who
sent what and when; the feed server logs each fetch's arrival. Needs TEST_DATABASE_URL.
"""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import sends_in_flight
from bot.storage.leases import batch_for
from tests.botapi_fake import BotApiFake
from tests.feedserver import FeedServer
from tests.multi_harness import (
    SENDS,
    Delivery,
    Instance,
    Instances,
    alert_messages,
    conflicts_between_clients,
    feeds_primed,
    max_in_window,
    min_gap,
    outbox_by_status,
    overlapping_pollers,
    pairs_of,
)
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema
from tests.process_harness import TOKEN, NewsSite, Pair, news_item

INSTANCES = 3
USERS = tuple(range(7101, 7161))
FEEDS = 3
POLL_INTERVAL = 3  # POLL_INTERVAL_SECONDS
RATE = 15  # MAX_MESSAGES_PER_SECOND: the one budget the three instances share
# Each send is answered this long after the fake recorded it (the message is delivered, the
# bot does not know yet): 4 sends in flight per instance allow 20/s each, so the rate limit,
# not the round trip, is what holds the instances back.
SEND_DELAY = 0.2
FETCH_DELAY = 0.1
# Stories are delivered one message each (no burst digest, no coalescing), so a pair's copies
# are messages; a digest, should one come, still counts each of its lines (pairs_of).
COALESCE_NEVER = 24 * 3600
WAVE_TOPICS = ("Ukraine", "Ukraine", "NATO", "NATO", "Ukraine and NATO", "Harbour")
LATE_TOPICS = ("Ukraine and NATO",)
# The kill comes once this share of the first wave is delivered, while the victim has sends
# the fake holds unanswered (in flight).
KILL_AFTER = 0.25
SETUP_STALL = 60.0
FINISH_STALL = 45.0
# What the shared budget lets through beyond RATE in a window: the bucket's capacity and the
# tokens each instance took ahead (a batch each, batch_for), plus one instance's sends in
# flight, since sends are counted as they arrive at the fake, not as their tokens are granted
# (sends granted just before a window may be delayed into it by the machine's load).
RATE_SLACK = (INSTANCES + 1) * batch_for(RATE) + sends_in_flight(RATE)
# A poll's `now` is read before its request is made and the feed's next poll is `now +
# interval`; the server logs the request's arrival, which may lag its `now` by the machine's
# load (a queued task, a connection set up: up to 0.95 s measured under load). Fetches closer
# than half an interval are two polls in one interval (two instances polling one feed at once
# arrive within a poll's length, a tenth of a second here); farther apart, one poll each.
FETCH_TOLERANCE = POLL_INTERVAL / 2


def queries_of(user: int) -> tuple[str, ...]:
    """A third watch Ukraine, a third NATO, a sixth both, a sixth something never published."""
    n = user - USERS[0]
    if n < 20:
        return ("Ukraine",)
    if n < 40:
        return ("NATO",)
    if n < 50:
        return ("Ukraine", "NATO")
    return ("football",)


def recipients_of(topic: str) -> set[int]:
    words = {word for word in topic.split() if word in {"Ukraine", "NATO"}}
    return {user for user in USERS if words & set(queries_of(user))}


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as url:
        yield url


@pytest.fixture
def fake() -> Iterator[BotApiFake]:
    with BotApiFake(TOKEN) as api:
        yield api


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feeds:
        yield feeds


class Waves:
    """Stories published on the sites, and the (title, chat) pairs they must reach."""

    def __init__(self, sites: list[NewsSite]) -> None:
        self.sites = sites
        self.number = 0
        self.expected: set[Pair] = set()

    def publish(self, topics: tuple[str, ...]) -> set[Pair]:
        pairs: set[Pair] = set()
        for site in self.sites:
            items = []
            for topic in topics:
                self.number += 1
                title = f"{topic} dispatch {self.number}"
                items.append(news_item(self.number, title))
                pairs |= {(title, user) for user in recipients_of(topic)}
            site.publish(*items)
        self.expected |= pairs
        return pairs


async def subscribe_everyone(instances: Instances, fake: BotApiFake) -> None:
    for user in USERS:
        fake.user_sends(user, "/subscribe " + ", ".join(queries_of(user)))

    def answered() -> int:
        return sum(1 for user in USERS if fake.sent(user))

    await instances.wait_while_progressing(
        lambda: answered() == len(USERS), answered, SETUP_STALL, "every /subscribe answered"
    )


async def kill_mid_delivery(
    instances: Instances, fake: BotApiFake, wave: set[Pair]
) -> tuple[Instance, float]:
    """Kill the instance holding the polling lock once it has sends in flight (another one
    with sends in flight if the poller never has); return it and the kill's instant."""
    chosen: list[str] = []

    def delivered() -> int:
        return sum(len(set(pairs_of(m)) & wave) for m in alert_messages(fake))

    def moment() -> bool:
        if delivered() < KILL_AFTER * len(wave):
            return False
        poller = instances.poller()
        candidates = [poller] if delivered() < 0.7 * len(wave) else [m.name for m in instances]
        for name in candidates:
            if name is not None and instances.sends_pending(name):
                chosen.append(name)
                return True
        return False

    await instances.wait_while_progressing(moment, delivered, SETUP_STALL, "a kill moment")
    victim = instances.named(chosen[0])
    return victim, await instances.kill(victim)


@pytest.mark.slow
async def test_three_instances_share_the_work_and_survive_a_sigkill(
    fake: BotApiFake, server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    sites = [NewsSite(server, f"/desk{n}.xml") for n in range(FEEDS)]
    for n, site in enumerate(sites):
        site.publish(news_item(900 + n, f"Harbour dispatch {900 + n}"))
    instances = Instances(
        fake,
        tmp_path,
        INSTANCES,
        {
            "DATABASE_URL": database_url,
            "FEED_URLS": " ".join(site.url for site in sites),
            "POLL_INTERVAL_SECONDS": str(POLL_INTERVAL),
            "MAX_MESSAGES_PER_SECOND": str(RATE),
            "ALERT_BURST_LIMIT": "1000",
            "ALERT_COALESCE_SECONDS": str(COALESCE_NEVER),
            "LOG_LEVEL": "INFO",
        },
    )
    try:
        await instances.start()
        await subscribe_everyone(instances, fake)
        await instances.wait(lambda: feeds_primed(database_url, FEEDS), 60.0, "first polls")
        fake.set_delay("sendMessage", SEND_DELAY)
        for site in sites:
            site.slow_down(FETCH_DELAY)
        waves = Waves(sites)
        wave_started = asyncio.get_running_loop().time()
        first = waves.publish(WAVE_TOPICS)
        victim, killed_at = await kill_mid_delivery(instances, fake, first)
        sent_by_victim = Delivery(alert_messages(fake), waves.expected, victim.name).sent_by(
            victim.name
        )
        unrecorded = sent_by_victim - outbox_by_status(database_url).get("sent", set())
        fake_in_flight = sum(
            1
            for r in instances.calls(victim.name, "sendMessage")
            if r.answered is None or r.answered >= killed_at
        )
        waves.publish(LATE_TOPICS)
        # Whoever polls now answers a command sent after the kill.
        asker = USERS[-1]
        before = len(fake.sent(asker))
        fake.user_sends(asker, "/list")
        await instances.wait(lambda: len(fake.sent(asker)) > before, 60.0, "a reply after the kill")

        def all_delivered() -> bool:
            delivered = {pair for m in alert_messages(fake) for pair in pairs_of(m)}
            return waves.expected <= delivered and not outbox_by_status(database_url).get("pending")

        await instances.wait_while_progressing(
            all_delivered, lambda: len(fake.sent()), FINISH_STALL, "every alert delivered"
        )
        statuses = await instances.stop()
    finally:
        await instances.close()
        print(instances.tails())  # shown only when the test failed
    now = asyncio.get_running_loop().time()

    delivery = Delivery(alert_messages(fake), waves.expected, victim.name)
    repeats = delivery.duplicate_messages()
    bound = sends_in_flight(RATE)
    send_times = sorted(
        r.arrived for method in SENDS for r in fake.request_log(method) if r.arrived >= wave_started
    )
    per_second = max_in_window(send_times, 1.0)
    per_five = max_in_window(send_times, 5.0)
    fetch_gaps = {site.path: min_gap(server.fetches(site.path)) for site in sites}
    # Where short gaps fell, relative to the kill (seconds), for the failure message.
    short_gaps = [
        (site.path, round(later - killed_at, 2), round(later - earlier, 2))
        for site in sites
        for earlier, later in itertools.pairwise(server.fetches(site.path))
        if later - earlier < POLL_INTERVAL - FETCH_TOLERANCE
    ]
    polls = fake.request_log("getUpdates")
    pollers_after = [r for r in polls if r.arrived > killed_at and r.client != victim.name]
    takeover = pollers_after[0].arrived - killed_at if pollers_after else None
    overlaps = overlapping_pollers(polls, {victim.name: killed_at}, now)
    conflicts = conflicts_between_clients(polls, victim.name)
    summary = "\n".join(
        [
            f"{len(waves.expected)} pairs expected, {len(delivery.messages)} messages, "
            f"by instance {dict(delivery.by_instance())}",
            f"victim {victim.name} killed "
            f"{killed_at - wave_started:.1f} s after the wave: fake held {fake_in_flight} of "
            f"its sends, {len(unrecorded)} sent but unrecorded, bound {bound}",
            f"missing {sorted(delivery.missing)[:5]} ({len(delivery.missing)}), unexpected "
            f"{sorted(delivery.unexpected)[:5]}, duplicate messages {len(repeats)}: "
            f"{[(m.client, pairs_of(m)) for m in repeats][:8]}",
            f"sends: max {per_second} in any 1 s, {per_five} in any 5 s (limit {RATE}/s, slack "
            f"{RATE_SLACK})",
            f"fetches per feed {[len(server.fetches(s.path)) for s in sites]}, shortest gap "
            f"{fetch_gaps} (interval {POLL_INTERVAL} s), short: {short_gaps}",
            "getUpdates (client, arrived, answered, status; s from the kill): "
            + ", ".join(
                f"{r.client} {r.arrived - killed_at:.1f} "
                f"{(r.answered or now) - killed_at:.1f} {r.status}"
                for r in polls
            ),
            f"getUpdates: {len(polls)} calls from {sorted({str(r.client) for r in polls})}, "
            f"takeover {takeover}, overlaps {len(overlaps)}, 409 to live clients "
            f"{len(conflicts)}; exit statuses {statuses}; {time.monotonic() - started:.1f} s",
        ]
    )
    print(summary)
    assert not delivery.missing, summary
    assert not delivery.unexpected, summary
    # Only what the victim had sent and not recorded is sent again, and no more than it
    # could have in flight.
    assert delivery.repeated_pairs() <= unrecorded, summary
    assert len(repeats) <= bound, summary
    assert len(unrecorded) <= bound, summary
    assert all(status == 0 for status in statuses.values()), summary
    # One budget for the three, not one each (which would be three times RATE).
    assert per_second <= RATE + RATE_SLACK, summary
    assert per_five <= 5 * RATE + RATE_SLACK, summary
    for path, gap in fetch_gaps.items():
        assert gap is None or gap >= POLL_INTERVAL - FETCH_TOLERANCE, (path, summary)
    assert not overlaps, summary
    assert not conflicts, summary
    assert pollers_after, summary
