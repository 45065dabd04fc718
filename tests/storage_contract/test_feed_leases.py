"""The contract of feed leases and instances: each due feed polled by one instance at a time.

On SQLite one process holds every lease (in memory); on PostgreSQL leases are rows other
instances see, taken with FOR UPDATE SKIP LOCKED (the tests at the end open two storages on
one schema)."""

import asyncio

import psycopg
import pytest

from bot.storage import Storage
from tests.storage_contract.conftest import Backend
from tests.storage_contract.helpers import T0, Db, add_feed, candidate, save

A, B = "instance-a", "instance-b"
LEASE = 15.0


async def ids(storage: Storage, instance: str, now: float, limit: int = 100) -> list[int]:
    return [f.id for f in await storage.lease_due_feeds(instance, now, now + LEASE, limit)]


async def test_a_leased_feed_is_not_leased_to_another_until_its_lease_ends(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    assert await ids(db.storage, A, T0, limit=1) == [a.id], "most overdue first, up to limit"
    assert await ids(db.storage, B, T0 + 1) == [b.id], "a is A's (until T0 + 15)"
    assert await ids(db.storage, A, T0 + 2) == [a.id], "b is B's; A's own a again (to T0 + 17)"
    assert await ids(db.storage, B, T0 + 16) == [b.id], "B's own lease of b ended; a is A's"
    assert await ids(db.storage, B, T0 + 17) == [a.id, b.id], "A's lease ended: B takes a"


async def test_an_instance_gets_the_feeds_it_holds_after_the_others(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    assert await ids(db.storage, A, T0, limit=1) == [a.id]
    # A poll whose outcome could not be stored leaves its lease: its owner may lease the
    # feed again, after the feeds no one holds.
    assert await ids(db.storage, A, T0 + 1, limit=1) == [b.id]
    assert await ids(db.storage, A, T0 + 2) == [a.id, b.id]


async def test_a_polls_outcome_releases_its_lease(db: Db) -> None:
    a, b, c = [await add_feed(db, name) for name in "abc"]
    assert await ids(db.storage, A, T0) == [a.id, b.id, c.id]
    await save(db, a, candidate(a, "Primer"), now=T0)  # next poll at T0 + 300
    await db.storage.record_not_modified(b.id, T0 + 5, T0)
    await db.storage.record_poll_failure(c.id, "HTTP 500", T0 + 5, T0)
    assert await ids(db.storage, B, T0 + 5) == [b.id, c.id], "released and due: B leases them"
    assert await ids(db.storage, B, T0 + 300) == [b.id, c.id, a.id], "B's leases ended"


async def test_next_poll_time_waits_for_the_end_of_a_lease(db: Db) -> None:
    a = await add_feed(db, "a")
    assert await db.storage.next_poll_time() == 0.0
    assert await ids(db.storage, A, T0) == [a.id]
    assert await db.storage.next_poll_time() == T0 + LEASE, "leased: not due for anyone"
    b = await add_feed(db, "b")
    assert await db.storage.next_poll_time() == 0.0, "b is due and free"
    assert await ids(db.storage, A, T0) == [b.id, a.id], "its own a after b"
    await db.storage.record_not_modified(a.id, T0 + 300, T0 + 1)
    assert await db.storage.next_poll_time() == T0 + LEASE, "b's lease"
    await db.storage.record_not_modified(b.id, T0 + 200, T0 + 1)
    assert await db.storage.next_poll_time() == T0 + 200


async def test_a_heartbeat_extends_the_leases_its_instance_holds(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    assert await ids(db.storage, A, T0, limit=1) == [a.id]
    assert await ids(db.storage, B, T0, limit=1) == [b.id]
    await db.storage.heartbeat(A, T0 + 10, T0 + 10 + LEASE)
    assert await ids(db.storage, B, T0 + LEASE) == [b.id], "a is still A's"
    assert await db.storage.next_poll_time() == T0 + 10 + LEASE
    assert await ids(db.storage, B, T0 + 10 + LEASE) == [a.id, b.id], "A fell silent"


async def test_live_instances_are_those_whose_heartbeat_lasts(db: Db) -> None:
    assert await db.storage.live_instances(T0) == []
    await db.storage.heartbeat(B, T0, T0 + LEASE)
    await db.storage.heartbeat(A, T0 + 5, T0 + 5 + LEASE)
    assert await db.storage.live_instances(T0 + 10) == [A, B]
    assert await db.storage.live_instances(T0 + LEASE) == [A], "B's heartbeat ran out"
    await db.storage.heartbeat(B, T0 + 16, T0 + 16 + LEASE)
    assert await db.storage.live_instances(T0 + 16) == [A, B], "B beats again"


async def test_a_retired_instance_leaves_and_releases_its_leases(db: Db) -> None:
    a = await add_feed(db, "a")
    await db.storage.heartbeat(A, T0, T0 + LEASE)
    assert await ids(db.storage, A, T0) == [a.id]
    await db.storage.retire(A)
    assert await db.storage.live_instances(T0 + 1) == []
    assert await ids(db.storage, B, T0 + 1) == [a.id]


async def test_sqlite_has_no_polling_lock_and_postgresql_has_one(db: Db, backend: Backend) -> None:
    assert (db.storage.polling_lock() is None) == (backend.url is None)


# Several instances exist only on PostgreSQL: two storages open on one schema.


@pytest.fixture
async def second(backend: Backend) -> Storage:
    if backend.url is None:
        pytest.skip("one process serves a SQLite database: its leases are in its memory")
    return await backend.open()


async def test_two_instances_leasing_at_once_share_the_due_feeds(db: Db, second: Storage) -> None:
    try:
        feeds = [await add_feed(db, f"f{n}") for n in range(40)]
        for _ in range(5):
            got_a, got_b = await asyncio.gather(
                ids(db.storage, A, T0, limit=25), ids(second, B, T0, limit=25)
            )
            assert not set(got_a) & set(got_b), "no feed leased to both"
        assert sorted(got_a + got_b) == [f.id for f in feeds]
        assert len(got_a) <= 25 and len(got_b) <= 25
    finally:
        await second.close()


async def test_a_feed_being_leased_elsewhere_is_skipped_not_waited_for(
    db: Db, second: Storage, backend: Backend
) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    assert backend.url is not None
    try:
        # Another instance's lease of `a`, caught mid-transaction: its row lock is held.
        async with await psycopg.AsyncConnection.connect(backend.url) as other:
            await other.execute("SELECT id FROM feeds WHERE id = %s FOR UPDATE", (a.id,))
            leased = await asyncio.wait_for(ids(second, B, T0), timeout=30)
            assert leased == [b.id], "a is skipped at once, not waited for"
        assert await ids(db.storage, A, T0) == [a.id], "unlocked and unleased: A's now"
    finally:
        await second.close()
