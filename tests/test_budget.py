"""Telegram's overall send rate shared by replies and delivery: a reply goes first.

The bucket is tested with times passed in; the budget's order with events (who got through
while whom still waited); the limiter end to end through the Bot API fake, a reply made
while handling an update against delivery's sends queued before it.
"""

import asyncio
from typing import Any

import pytest
from telegram.ext import ExtBot

from bot.updates.budget import LeakyBucket, SendBudget
from bot.updates.flood import FloodGate
from bot.updates.traffic import ChatOrderedProcessor, RecordingRateLimiter
from tests.botapi_fake import BotApiFake
from tests.e2e import eventually

WAIT = 30.0


def test_the_bucket_lets_a_burst_of_its_capacity_through_then_its_rate() -> None:
    bucket = LeakyBucket(rate=10, capacity=10)
    assert all(bucket.try_take(100.0) for _ in range(10))
    assert not bucket.try_take(100.0)
    assert bucket.wait(100.0) == pytest.approx(0.1)
    assert bucket.try_take(100.1)
    assert not bucket.try_take(100.1)


def test_what_the_bucket_leaves_unspent_only_the_others_may_take() -> None:
    bucket = LeakyBucket(rate=10, capacity=10)
    assert all(bucket.try_take(0.0, leave=2) for _ in range(8))
    assert not bucket.try_take(0.0, leave=2)
    assert bucket.wait(0.0, leave=2) == pytest.approx(0.1)
    assert bucket.wait(0.0) == 0.0
    assert bucket.try_take(0.0) and bucket.try_take(0.0)
    assert not bucket.try_take(0.0)


def test_a_clock_that_goes_back_never_refills_the_bucket() -> None:
    bucket = LeakyBucket(rate=10, capacity=1)
    assert bucket.try_take(5.0)
    assert not bucket.try_take(4.0)
    assert not bucket.try_take(5.0)


async def granted(budget: SendBudget, name: str, order: list[str], *, reply: bool) -> None:
    await budget.acquire(reply=reply)
    order.append(name)


async def test_a_reply_goes_before_the_sends_that_waited_before_it() -> None:
    budget = SendBudget(10)  # delivery leaves 1 of its 10 unspent
    order: list[str] = []
    for n in range(9):
        await granted(budget, f"send {n}", order, reply=False)
    waiting = [
        asyncio.create_task(granted(budget, f"queued {n}", order, reply=False)) for n in range(3)
    ]
    await asyncio.sleep(0)  # each queued send has asked (none can go: the reserve is left)

    # The reserve: the reply goes at once, while every queued send still waits.
    await granted(budget, "reply", order, reply=True)
    assert order[-1] == "reply" and not any(task.done() for task in waiting)

    # The reserve spent, a second reply waits too, but only for the allowance, not for them.
    second = asyncio.create_task(granted(budget, "second reply", order, reply=True))
    await asyncio.wait_for(asyncio.gather(second, *waiting), WAIT)
    assert order[10:] == ["second reply", "queued 0", "queued 1", "queued 2"]


async def test_a_cancelled_wait_gives_its_turn_to_the_next() -> None:
    budget = SendBudget(2)  # a reserve of 1: one delivery send at once
    order: list[str] = []
    await granted(budget, "first", order, reply=False)
    cancelled = asyncio.create_task(granted(budget, "cancelled", order, reply=False))
    after = asyncio.create_task(granted(budget, "after", order, reply=False))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.wait_for(after, WAIT)
    assert order == ["first", "after"]
    assert cancelled.cancelled()


async def test_the_limiter_sends_a_reply_before_deliverys_queued_sends() -> None:
    """Through the Bot API fake: a reply made while handling an update reaches Telegram
    before the delivery sends queued ahead of it (PTB's limiter sent them first)."""
    reply_chat, delivery_chats = 77, range(1001, 1011)
    async with BotApiFake() as fake:
        limiter = RecordingRateLimiter(FloodGate(), overall_max_rate=5, max_retries=0)
        async with ExtBot(fake.token, base_url=fake.base_url, rate_limiter=limiter) as bot:
            # Ten alerts, five a second: four go at once (one left for replies), six wait.
            deliveries = [
                asyncio.create_task(bot.send_message(chat_id=chat, text="alert"))
                for chat in delivery_chats
            ]
            await eventually(lambda: len(fake.sent()) >= 4, WAIT)

            processor = ChatOrderedProcessor(4)

            async def handle() -> Any:
                return await bot.send_message(chat_id=reply_chat, text="Your subscriptions")

            await asyncio.wait_for(processor.process_update(object(), handle()), WAIT)
            await asyncio.wait_for(asyncio.gather(*deliveries), WAIT)

    order = [message.chat_id for message in fake.sent()]
    assert order.index(reply_chat) < len(delivery_chats)
    assert sorted(order) == sorted([reply_chat, *delivery_chats])
