"""The contract of pruning: old finished rows and stories go, a batch at a time; pending stay."""

from bot.storage import Delivery
from tests.storage_contract.helpers import ANN, T0, Db, add_feed, queue

DAY = 24 * 3600.0
START = (float("-inf"), 0)


async def test_pruning_deletes_old_finished_rows_and_the_stories_nothing_refers_to(
    db: Db,
) -> None:
    feed = await add_feed(db)
    sent, pending = await queue(db, feed, ANN, 2)
    await db.storage.record_deliveries([Delivery(sent, ANN, "sent", 1)], now=T0 + 1)
    later = T0 + 40 * DAY

    assert (await db.storage.prune_outbox(T0, START, 100)).deleted == 0, "not old yet"
    outbox = await db.storage.prune_outbox(later, START, 100)
    assert (outbox.deleted, outbox.resume_after) == (1, None)
    assert [row.id for row in await db.storage.pending_outbox()] == [pending]

    stories = await db.storage.prune_stories(later, START, 100)
    assert (stories.deleted, stories.resume_after) == (1, None)
    assert len(db.story_titles()) == 1, "the pending row's story stays"
    assert await db.storage.release_free_pages(256) >= 0


async def test_pruning_goes_a_batch_at_a_time(db: Db) -> None:
    feed = await add_feed(db)
    rows = await queue(db, feed, ANN, 3)
    await db.storage.record_deliveries([Delivery(r, ANN, "sent", 1) for r in rows], now=T0 + 1)
    later = T0 + 40 * DAY
    deleted, batches = 0, 0
    after: tuple[float, int] | None = START
    while after is not None:
        page = await db.storage.prune_outbox(later, after, 2)
        deleted, batches, after = deleted + page.deleted, batches + 1, page.resume_after
    assert (deleted, batches) == (3, 2)
    assert await db.storage.outbox_counts() == {}
