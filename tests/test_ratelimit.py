"""Token buckets per key, and the removal keyboard limit (the flood policy: test_flood.py)."""

import pytest

from bot.delivery.ratelimit import KeyedTokenBuckets
from bot.storage import Subscription
from handlers.subscriptions import MAX_BUTTONS, _removal_keyboard


def test_burst_boundary_then_steady_rate() -> None:
    buckets = KeyedTokenBuckets(rate_of=lambda _: 1.0, burst=3)
    assert [buckets.try_take(7, now=0.0) for _ in range(4)] == [True, True, True, False]
    assert buckets.ready_at(7, now=0.0) == pytest.approx(1.0)
    assert not buckets.try_take(7, now=0.99)
    assert buckets.try_take(7, now=1.0)
    assert buckets.try_take(8, now=1.0), "keys do not share an allowance"


def test_refill_never_exceeds_the_burst() -> None:
    buckets = KeyedTokenBuckets(rate_of=lambda _: 1.0, burst=2)
    buckets.try_take(1, now=0.0)
    taken = [buckets.try_take(1, now=100.0) for _ in range(3)]
    assert taken == [True, True, False]


def test_hold_wins_over_tokens() -> None:
    buckets = KeyedTokenBuckets(rate_of=lambda _: 1.0, burst=3)
    buckets.hold(1, until=30.0, now=0.0)
    assert buckets.ready_at(1, now=0.0) == 30.0
    assert not buckets.try_take(1, now=29.0)
    assert buckets.try_take(1, now=30.0)


@pytest.mark.parametrize(
    ("count", "shown"), [(MAX_BUTTONS, MAX_BUTTONS), (MAX_BUTTONS + 1, MAX_BUTTONS)]
)
def test_removal_keyboard_boundary(count: int, shown: int) -> None:
    subscriptions = [Subscription(n, 1, f"q{n}", f"Query {n}") for n in range(count)]
    keyboard = _removal_keyboard(subscriptions)
    buttons = [button for row in keyboard.inline_keyboard for button in row]
    assert len(buttons) == shown
    assert all(len(str(button.callback_data).encode()) <= 64 for button in buttons)
