"""The contract of the health probe's write and the delivery backlog (/healthz, /metrics)."""

from bot.storage import Backlog, Delivery
from tests.storage_contract.helpers import ANN, T0, Db, add_feed, candidate, save


async def test_an_empty_database_has_no_backlog_and_takes_the_probe_write(db: Db) -> None:
    await db.storage.probe_write(T0)
    await db.storage.probe_write(T0 + 1)  # the same row again, not a second one

    assert await db.storage.backlog(T0) == Backlog()


async def test_the_backlog_counts_unclaimed_matches_then_pending_rows_oldest_first(
    db: Db,
) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine one"), now=T0, deliver=False)
    await save(db, feed, candidate(feed, "Ukraine two"), now=T0 + 60, deliver=False)

    waiting = await db.storage.backlog(T0 + 60)
    assert (waiting.waiting_matches, waiting.oldest_match_at) == (2, T0)
    assert (waiting.pending_rows, waiting.oldest_due_at) == (0, None)

    await save(db, feed, candidate(feed, "Ukraine three"), now=T0 + 120)  # claims all three
    claimed = await db.storage.backlog(T0 + 120)
    assert (claimed.waiting_matches, claimed.oldest_match_at) == (0, None)
    assert claimed.pending_rows == 3
    assert claimed.oldest_due_at == T0 + 120  # queued at the claim, not at the match

    first, second, third = sorted(row["id"] for row in db.outbox())
    await db.storage.record_deliveries(
        [
            Delivery(first, ANN, "sent", 1),
            # Telegram asked to wait: pending, but not due until then.
            Delivery(second, ANN, "pending", 1, next_attempt_at=T0 + 600),
            Delivery(third, ANN, "pending", 1, next_attempt_at=T0 + 600),
        ],
        now=T0 + 130,
    )
    held = await db.storage.backlog(T0 + 130)
    assert (held.pending_rows, held.oldest_due_at) == (2, None)
    assert (await db.storage.backlog(T0 + 600)).oldest_due_at == T0 + 120
