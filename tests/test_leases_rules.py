"""The pure rules of delivery across instances: a row's lease, the send budget's bucket."""

import pytest

from bot.storage.leases import Budget, Lease, batch_for, granted, refilled, row_lease_until


def test_a_due_row_is_held_for_the_lease_and_a_later_one_as_long_past_its_time() -> None:
    lease = Lease("a", 130.0)
    assert row_lease_until(lease, now=100.0, due=0.0) == 130.0
    assert row_lease_until(lease, now=100.0, due=100.0) == 130.0
    assert row_lease_until(lease, now=100.0, due=700.0) == 730.0


@pytest.mark.parametrize(("rate", "batch"), [(1, 1), (10, 1), (30, 3), (1000, 100)])
def test_an_instance_takes_a_tenth_of_a_seconds_worth_of_tokens_at_once(
    rate: float, batch: int
) -> None:
    assert batch_for(rate) == batch


def test_the_bucket_refills_at_its_rate_up_to_its_capacity_and_grants_whole_tokens() -> None:
    budget = Budget(rate=8.0, capacity=4.0)
    assert refilled(0.0, 10.0, 10.25, budget) == 2.0
    assert refilled(3.0, 10.0, 20.0, budget) == 4.0
    assert refilled(1.0, 10.0, 9.0, budget) == 1.0, "a clock behind refills nothing"
    assert granted(2.75, 5) == 2
    assert granted(9.0, 5) == 5
    assert granted(0.5, 5) == 0
