"""Delivery across instances: two DeliveryWorkers on one PostgreSQL schema (two storages, one
Bot API fake) send every row once, keep each chat to one instance at a time, take over a dead
instance's rows once its lease expires, and together stay within one send budget."""

import asyncio
import bisect
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Message
from telegram.ext import AIORateLimiter, ExtBot

from bot.delivery.fanout import MatchLog, claim_planner
from bot.delivery.shared import LEASE_SECONDS, Sharing
from bot.delivery.worker import DeliveryWorker
from bot.ingest.stories import story_from_entry
from bot.storage import Feed, PollToSave, Storage, StoryToSave
from bot.storage.leases import Lease, batch_for
from bot.storage.postgres import PostgresStorage
from bot.text.analyzer import analyze
from tests.botapi_fake import BotApiFake
from tests.clocks import JumpClock
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema
from tests.storage_contract.helpers import own_query, private
from tests.test_delivery import eventually, make_bot, running, subscribers_of

pytestmark = pytest.mark.skipif(TEST_DATABASE_URL is None, reason=SKIP_REASON)

CHATS = tuple(range(7001, 7061))
RATE = 20
WAIT = 30.0


class TimedBot(ExtBot[Any]):
    """A PTB bot that notes, on the workers' clock, when each message was accepted."""

    def __init__(self, *args: Any, clock: JumpClock, times: list[float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock
        self._times = times

    async def send_message(self, *args: Any, **kwargs: Any) -> Message:
        message = await super().send_message(*args, **kwargs)
        self._times.append(self._clock())
        return message


@dataclass
class Instances:
    fake: BotApiFake
    storages: tuple[PostgresStorage, PostgresStorage]
    feed: Feed
    clock: JumpClock
    times: list[float]

    def bot(self) -> ExtBot[Any]:
        reference = make_bot(self.fake)
        return TimedBot(
            self.fake.token,
            base_url=self.fake.base_url,
            rate_limiter=AIORateLimiter(max_retries=0),
            defaults=reference.defaults,
            clock=self.clock,
            times=self.times,
        )

    def worker(self, storage: Storage, bot: ExtBot[Any], instance: str) -> DeliveryWorker:
        return DeliveryWorker(
            bot,
            storage,
            subscribers_of,
            burst_limit=1_000,
            clock=self.clock,
            sharing=Sharing(instance, rate=RATE),
        )


@pytest.fixture
async def instances() -> AsyncIterator[Instances]:
    async with fresh_schema() as conninfo:
        first = await PostgresStorage.open(conninfo)
        second = await PostgresStorage.open(conninfo)
        try:
            now = time.time()
            for chat_id in CHATS:
                await first.register_chat(private(chat_id, f"Reader {chat_id}"), now=now)
                await first.add_subscriptions(
                    chat_id, [(own_query(chat_id), "Ukraine")], limit=10, now=now
                )
            feed, _ = await first.add_feed("https://news.example/feed", now, trusted=True)
            async with BotApiFake() as fake:
                yield Instances(fake, (first, second), feed, JumpClock(), [])
        finally:
            await first.close()
            await second.close()


async def save_stories(env: Instances, titles: Sequence[str]) -> None:
    """One poll whose stories every chat's subscription matched."""
    now = time.time()
    stories = []
    for n, title in enumerate(titles):
        story = story_from_entry(
            env.feed.id,
            f"urn:test:instances:{title}",
            f"https://news.example/story/{n}-{abs(hash(title))}",
            title,
            datetime.now(UTC),
            f"Summary of {title}.",
        )
        stories.append(StoryToSave(story, analyze(story.title), alertable=True))
    await env.storages[0].save_poll(
        PollToSave(
            feed_id=env.feed.id,
            url=env.feed.url,
            title="World Desk",
            etag=None,
            last_modified=None,
            next_poll_at=now + 300,
            now=now,
            alerts_enabled=True,
            stories=tuple(stories),
        ),
        match=lambda candidate: tuple(own_query(chat_id) for chat_id in CHATS),
    )


def busiest_second(times: Sequence[float]) -> int:
    """The most sends in any one-second window starting at a send."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, start + 1.0) - i for i, start in enumerate(ordered)),
        default=0,
    )


async def test_two_instances_send_every_alert_once_within_one_budget(
    instances: Instances,
) -> None:
    env = instances
    titles = ["Ukraine grain deal signed", "Ukraine wins the cup final"]
    await save_stories(env, titles)
    async with env.bot() as bot_a, env.bot() as bot_b:
        worker_a = env.worker(env.storages[0], bot_a, "a")
        worker_b = env.worker(env.storages[1], bot_b, "b")
        async with running(worker_a), running(worker_b):
            expected = len(CHATS) * len(titles)
            # Both read the matches and gave every chat a turn: whichever claimed a chat
            # sent it; the other found it held, then claimed nothing new.
            await eventually(lambda: len(env.times) >= expected, WAIT)
            await until_no_pending(env.storages[0])
    for chat_id in CHATS:
        sent = [m.plain_text for m in env.fake.sent(chat_id)]
        assert sorted(t for text in sent for t in titles if t in text) == sorted(titles), chat_id
    counts = await env.storages[0].outbox_counts()
    assert counts == {"sent": expected}, "every row sent once"
    assert env.fake.count_requests("sendMessage") == expected, "nothing sent twice"
    # One budget for both: RATE a second, plus at most a batch in the bucket and a batch
    # each instance holds; without it, each would send at PTB's own 30 a second.
    # Every row went out under a lease; which instance sent how many depends on who
    # claimed each chat first (one run: 68 and 52 of 120).
    assert set((await senders(env.storages[0])).keys()) <= {"a", "b"}
    assert busiest_second(env.times) <= RATE + 3 * batch_for(RATE)


async def test_a_dead_instances_rows_are_taken_over_once_its_lease_expires(
    instances: Instances,
) -> None:
    env = instances
    await save_stories(env, ["Ukraine election date set"])
    storage = env.storages[1]
    # The dead instance claimed every chat but the last (its rows leased to it), moved the
    # watermark and died. The last chat's row nobody holds (as a broadcast's would be).
    log = MatchLog()
    log.add(await storage.story_matches(0, 1_000))
    plan = claim_planner(log, limit=1_000, now=env.clock())
    *held, free = CHATS
    for chat_id in held:
        await storage.claim_chat(
            chat_id, plan, env.clock(), lease=Lease("dead", env.clock() + LEASE_SECONDS)
        )
    await storage.claim_chat(free, plan, env.clock())
    await storage.advance_watermark(log.last_id)

    async with env.bot() as bot, running(env.worker(storage, bot, "b")):
        # Its first sweep took the free row, and (in the same statement) would have taken
        # the others had it ignored their lease.
        await env.fake.wait_for_sent(free, 1, WAIT)
        assert set(await holders(storage, held)) == {"dead"}
        assert all(not env.fake.sent(chat_id) for chat_id in held)
        env.clock.jump(LEASE_SECONDS + 1)  # the dead instance's leases expire
        await until_no_pending(storage)
    for chat_id in CHATS:
        assert len(env.fake.sent(chat_id)) == 1, chat_id


async def holders(storage: PostgresStorage, chats: Sequence[int]) -> list[str]:
    """Who holds the chats' pending rows (read as the instances' storage does)."""
    async with storage._transaction() as db:
        cursor = await db.execute(
            """SELECT claimed_by FROM outbox
               WHERE chat_id = ANY(%s::bigint[]) AND status = 'pending'""",
            (list(chats),),
        )
        return [str(row[0]) for row in await cursor.fetchall()]


async def until_no_pending(storage: Storage) -> None:
    """Wait until no outbox row is pending (outcomes committed), or fail after WAIT."""
    deadline = time.monotonic() + WAIT
    while (await storage.outbox_counts()).get("pending", 0):
        assert time.monotonic() < deadline, "rows still pending"
        await asyncio.sleep(0.05)


async def senders(storage: PostgresStorage) -> dict[str, int]:
    """How many rows each instance held (and sent)."""
    async with storage._transaction() as db:
        cursor = await db.execute("SELECT claimed_by, count(*) FROM outbox GROUP BY 1")
        return {str(row[0]): int(row[1]) for row in await cursor.fetchall()}


async def test_a_broadcast_is_shared_between_instances_and_sent_once_to_each_chat(
    instances: Instances,
) -> None:
    env = instances
    admin = CHATS[0]
    draft = await env.storages[0].create_broadcast(admin, "Maintenance tonight", time.time())
    recipients = await env.storages[0].confirm_broadcast(draft.id, admin, time.time())
    assert recipients == len(CHATS)
    # Nobody holds a broadcast's rows: an instance's sweep takes up to a queue's worth (here
    # all of them), the other's the rest; a chat's row is sent by the one that took it.
    async with (
        env.bot() as bot_a,
        env.bot() as bot_b,
        running(env.worker(env.storages[0], bot_a, "a")),
        running(env.worker(env.storages[1], bot_b, "b")),
    ):
        await eventually(lambda: len(env.times) >= len(CHATS), WAIT)
        await until_no_pending(env.storages[0])
    for chat_id in CHATS:
        assert [m.plain_text for m in env.fake.sent(chat_id)] == ["Maintenance tonight"]
    assert busiest_second(env.times) <= RATE + 3 * batch_for(RATE)
    # Both instances' progress jobs finish it; only the first reports it.
    finished = [await storage.finish_broadcast(draft.id, time.time()) for storage in env.storages]
    assert finished == [True, False]
