"""The contract of delivery across instances: outbox rows leased to one instance, taken over
once a lease expires, a chat held by one instance at a time, one shared send budget."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.delivery.fanout import MatchLog, claim_planner
from bot.storage import ClaimPlanner, Delivery, Feed, Storage
from bot.storage.leases import Budget, Lease
from bot.storage.postgres import PostgresStorage
from tests.storage_contract.conftest import Backend
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    CAROL,
    T0,
    Audience,
    Db,
    add_feed,
    candidate,
    everyone,
    queue,
    save,
)

LEASE = 30.0


def lease(instance: str, now: float = T0) -> Lease:
    return Lease(instance, now + LEASE)


def holders(db: Db) -> dict[int, str | None]:
    return {row["id"]: row["claimed_by"] for row in db.outbox() if row["status"] == "pending"}


async def test_unheld_rows_are_taken_by_one_instance_and_renewed(db: Db) -> None:
    feed = await add_feed(db)
    ann = await queue(db, feed, ANN, 2)
    bob = await queue(db, feed, BOB, 1)
    taken = await db.storage.take_outbox(lease("a"), T0, 100)
    assert [row.id for row in taken] == ann + bob
    assert [row.chat_id for row in taken] == [ANN, ANN, BOB]
    assert set(holders(db).values()) == {"a"}
    assert await db.storage.take_outbox(lease("b", T0 + 10), T0 + 10, 100) == []
    assert await db.storage.take_outbox(lease("a", T0 + 10), T0 + 10, 100) == [], "already a's"
    assert await db.storage.renew_outbox_leases(lease("a", T0 + 20)) == 3
    # Past the first lease, not the renewed one: still a's.
    assert await db.storage.take_outbox(lease("b", T0 + 40), T0 + 40, 100) == []


async def test_rows_of_an_instance_that_stopped_renewing_are_taken_over_after_expiry(
    db: Db,
) -> None:
    feed = await add_feed(db)
    rows = await queue(db, feed, ANN, 2)
    await db.storage.take_outbox(lease("dead"), T0, 100)
    assert await db.storage.take_outbox(lease("b", T0 + LEASE), T0 + LEASE, 100) == []
    later = T0 + LEASE + 1
    taken = await db.storage.take_outbox(lease("b", later), later, 100)
    assert [row.id for row in taken] == rows
    assert set(holders(db).values()) == {"b"}
    assert await db.storage.renew_outbox_leases(lease("dead", later)) == 0, "lost to b"
    assert await db.storage.load_outbox(rows, leased_by="dead") == []
    assert [item.id for item in await db.storage.load_outbox(rows, leased_by="b")] == rows


async def test_a_take_stops_at_its_limit_and_takes_whole_chats(db: Db) -> None:
    feed = await add_feed(db)
    ann = await queue(db, feed, ANN, 3)
    bob = await queue(db, feed, BOB, 1)
    first = await db.storage.take_outbox(lease("a"), T0, 1)
    assert [row.id for row in first] == ann, "every pending row of the chat it reached"
    second = await db.storage.take_outbox(lease("b"), T0, 10)
    assert [row.id for row in second] == bob


async def test_a_chat_whose_rows_one_instance_holds_is_left_to_it(db: Db) -> None:
    feed = await add_feed(db)
    await queue(db, feed, ANN, 1)
    await db.storage.take_outbox(lease("a"), T0, 100)
    ann_more = await queue(db, feed, ANN, 1)
    bob = await queue(db, feed, BOB, 1)
    taken = await db.storage.take_outbox(lease("b", T0 + 1), T0 + 1, 100)
    assert [row.id for row in taken] == bob, "Ann is a's until its rows are done"
    mine = await db.storage.take_outbox(lease("a", T0 + 1), T0 + 1, 100)
    assert [row.id for row in mine] == ann_more


async def test_a_row_due_later_is_held_as_long_past_its_time_and_not_renewed(db: Db) -> None:
    feed = await add_feed(db)
    [row] = await queue(db, feed, ANN, 1)
    retry_at = T0 + 600
    await db.storage.record_deliveries(
        [Delivery(row, ANN, "pending", 1, next_attempt_at=retry_at, error="Bad Gateway")], T0
    )
    await db.storage.take_outbox(lease("a"), T0, 100)
    assert [r["lease_until"] for r in db.outbox()] == [retry_at + LEASE]
    assert await db.storage.renew_outbox_leases(lease("a", T0 + 10)) == 0, "nothing to extend"
    assert await db.storage.take_outbox(lease("b", T0 + 100), T0 + 100, 100) == []
    later = retry_at + LEASE + 1
    assert [r.id for r in await db.storage.take_outbox(lease("b", later), later, 100)] == [row]


async def test_rows_held_only_for_later_leave_the_chat_to_anyone_meanwhile(db: Db) -> None:
    """A digest line held till tonight must not keep the chat from other instances (their
    watermark would wait for it): only rows due within a lease make a chat another's."""
    feed = await add_feed(db)
    later, due = await queue(db, feed, ANN, 2)
    await db.storage.record_deliveries(
        [Delivery(later, ANN, "pending", 0, next_attempt_at=T0 + 3600)], T0
    )
    await db.storage.take_outbox(lease("a"), T0, 100)
    await save(db, feed, candidate(feed, "Ukraine one"), match=everyone(ANN), deliver=False)
    log = MatchLog()
    log.add(await db.storage.story_matches(0, 100))
    plan = claim_planner(log, limit=100, now=T0)
    held = await db.storage.claim_chat(ANN, plan, T0, lease=lease("c"))
    assert (held.rows, held.held_until) == ((), T0 + LEASE), "a's row due now holds it"
    await db.storage.record_deliveries([Delivery(due, ANN, "sent", 1)], T0)
    claim = await db.storage.claim_chat(ANN, plan, T0, lease=lease("c"))
    assert claim.held_until is None, "only a's line for later is left"
    assert len(claim.rows) == 1
    await db.storage.release_outbox_leases("c")
    taken = await db.storage.take_outbox(lease("b"), T0, 100)
    assert [row.id for row in taken] == [claim.rows[0].id]


async def test_released_rows_are_taken_at_once(db: Db) -> None:
    feed = await add_feed(db)
    rows = await queue(db, feed, ANN, 2)
    await db.storage.take_outbox(lease("a"), T0, 100)
    assert await db.storage.release_outbox_leases("a") == 2
    assert [r.id for r in await db.storage.take_outbox(lease("b"), T0 + 1, 100)] == rows


async def test_a_leased_claim_leases_its_rows_and_a_held_chat_queues_nothing(db: Db) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine one"), match=everyone(ANN), deliver=False)
    log = MatchLog()
    log.add(await db.storage.story_matches(0, 100))
    plan = claim_planner(log, limit=100, now=T0)
    claim = await db.storage.claim_chat(ANN, plan, T0, lease=lease("a"))
    assert claim.held_until is None
    assert set(holders(db).values()) == {"a"}
    await save(db, feed, candidate(feed, "Ukraine two"), match=everyone(ANN), deliver=False)
    log.add(await db.storage.story_matches(log.last_id, 100))
    held = await db.storage.claim_chat(ANN, plan, T0 + 1, lease=lease("b", T0 + 1))
    assert (held.rows, held.held_until) == ((), T0 + LEASE)
    assert len(db.outbox()) == 1, "nothing queued, the cursor stays for b's next turn"
    mine = await db.storage.claim_chat(ANN, plan, T0 + 1, lease=lease("a", T0 + 1))
    assert len(mine.rows) == 1
    after = T0 + LEASE + 2
    assert await db.storage.renew_outbox_leases(lease("a", T0 + 1)) == 1, "the older one"
    taken = await db.storage.claim_chat(ANN, plan, after, lease=lease("b", after))
    assert (taken.rows, taken.held_until) == ((), None), "a's lease expired: b may claim"


async def _poll(db: Db, feed: Feed, title: str) -> None:
    await save(db, feed, candidate(feed, title), match=everyone(ANN, BOB), deliver=False)


async def _claim_all(db: Db, plan: ClaimPlanner, instance: str) -> None:
    for chat in (ANN, BOB):
        while (await db.storage.claim_chat(chat, plan, T0, lease=lease(instance))).more:
            pass


async def test_a_watermark_moved_by_one_instance_loses_nothing_for_another(db: Db) -> None:
    """Instance B read the first stories' matches; A claimed every chat and moved the
    watermark (deleting them); B still claims each story once, and the later ones."""
    feed = await add_feed(db)
    await _poll(db, feed, "Ukraine grain deal signed")
    log_b = MatchLog()
    log_b.add(await db.storage.story_matches(0, 100))
    await _poll(db, feed, "Ukraine election date set")
    log_a = MatchLog()
    log_a.add(await db.storage.story_matches(0, 100))
    plan_a = claim_planner(log_a, limit=100, now=T0)
    await _claim_all(db, plan_a, "a")
    await db.storage.advance_watermark(log_a.last_id)
    await _poll(db, feed, "Ukraine wins the cup final")
    log_b.add(await db.storage.story_matches(log_b.last_id, 100))
    plan_b = claim_planner(log_b, limit=100, now=T0)
    await db.storage.release_outbox_leases("a")
    await _claim_all(db, plan_b, "b")
    titles = sorted(db.alerts())
    assert titles == sorted(
        (chat, title)
        for chat in (ANN, BOB)
        for title in (
            "Ukraine grain deal signed",
            "Ukraine election date set",
            "Ukraine wins the cup final",
        )
    )


async def test_the_send_budget_refills_at_its_rate_up_to_its_capacity(db: Db) -> None:
    budget = Budget(rate=8.0, capacity=3.0)
    assert await db.storage.take_send_tokens(5, budget, T0) == 3
    assert await db.storage.take_send_tokens(5, budget, T0) == 0
    assert await db.storage.take_send_tokens(5, budget, T0 + 0.125) == 1
    assert await db.storage.take_send_tokens(5, budget, T0 + 0.25) == 1
    assert await db.storage.take_send_tokens(5, budget, T0 + 0.25) == 0
    assert await db.storage.take_send_tokens(5, budget, T0 - 5) == 0, "a clock behind adds none"
    assert await db.storage.take_send_tokens(5, budget, T0 + 9) == 3


# ---- two PostgresStorage objects on one schema (instances) ----


@pytest.fixture
async def second(backend: Backend, db: Db) -> AsyncIterator[Storage]:
    """Another instance's storage on the same schema (PostgreSQL only)."""
    if backend.peek.__class__.__name__ != "PostgresPeek":
        pytest.skip("SQLite runs one instance")
    opened = await backend.open()
    yield opened
    await opened.close()


async def test_a_take_skips_chats_another_instance_is_taking_now(db: Db, second: Storage) -> None:
    feed = await add_feed(db)
    await queue(db, feed, ANN, 1)
    bob = await queue(db, feed, BOB, 1)
    assert isinstance(second, PostgresStorage)
    async with second._transaction() as locked:
        # Another instance, mid-take: Ann's chat row is locked until it commits.
        await locked.execute("SELECT id FROM chats WHERE id = %s FOR NO KEY UPDATE", (ANN,))
        taken = await asyncio.wait_for(db.storage.take_outbox(lease("a"), T0, 100), 10)
    assert [row.id for row in taken] == bob, "Ann's chat skipped, not waited for"


async def test_concurrent_takes_share_the_rows_without_overlap(db: Db, second: Storage) -> None:
    feed = await add_feed(db)
    await save(
        db,
        feed,
        *(candidate(feed, f"Ukraine {n}") for n in range(5)),
        match=Audience({ANN: ("Ukraine",), BOB: ("Ukraine",), CAROL: ("Ukraine",)}),
    )
    every = {row["id"] for row in db.outbox()}
    taken_a, taken_b = await asyncio.gather(
        db.storage.take_outbox(lease("a"), T0, 100), second.take_outbox(lease("b"), T0, 100)
    )
    ids_a, ids_b = {r.id for r in taken_a}, {r.id for r in taken_b}
    assert not ids_a & ids_b
    assert {r.chat_id for r in taken_a}.isdisjoint({r.chat_id for r in taken_b})
    rest = await db.storage.take_outbox(lease("a"), T0, 100)
    assert ids_a | ids_b | {r.id for r in rest} == every


async def test_instances_share_one_send_budget(db: Db, second: Storage) -> None:
    budget = Budget(rate=100.0, capacity=10.0)
    got = 0
    for step in range(50):
        now = T0 + step * 0.01
        a, b = await asyncio.gather(
            db.storage.take_send_tokens(10, budget, now), second.take_send_tokens(10, budget, now)
        )
        got += a + b
    # 0.49 s at 100 a second, plus the full bucket at the start.
    assert got <= 10 + 49
