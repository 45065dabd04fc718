"""The contract of pruning: old finished rows and stories go, a batch at a time; pending stay."""

from bot.storage import Delivery
from tests.storage_contract.helpers import ANN, T0, Audience, Db, add_feed, candidate, queue, save

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


async def test_an_undated_story_stays_while_its_feed_lists_it(db: Db) -> None:
    # No date says a re-sighting is old: while the feed lists the entry, its story is all
    # that stops a second alert. Only full parses tell what a feed lists.
    feed = await add_feed(db)
    nobody = Audience({})
    listed = candidate(feed, "Listed, undated", dated=False)
    dropped = candidate(feed, "Dropped, undated", dated=False)
    await save(db, feed, listed, dropped, match=nobody, deliver=False)
    later = T0 + 40 * DAY

    # Since then only new items were parsed: nothing says which entries the feed dropped.
    fresh = candidate(feed, "Fresh")
    await save(db, feed, fresh, now=T0 + 20 * DAY, match=nobody, new_items_only=True)
    await db.storage.prune_stories(later, START, 100)
    assert {"Listed, undated", "Dropped, undated"} <= set(db.story_titles())

    # A parse that hit an error lists what it could read: it says nothing of the rest.
    await save(db, feed, listed, now=T0 + 25 * DAY, match=nobody, deliver=False, complete=False)
    await db.storage.prune_stories(later, START, 100)
    assert {"Listed, undated", "Dropped, undated"} <= set(db.story_titles())

    # A full parse lists one of them (and the fresh item): the other one goes.
    await save(db, feed, fresh, listed, now=T0 + 30 * DAY, match=nobody, deliver=False)
    pruned = await db.storage.prune_stories(later, START, 100)
    titles = set(db.story_titles())
    assert "Dropped, undated" not in titles
    assert "Listed, undated" in titles
    assert pruned.deleted == 2, "the dropped story and the fresh one, dated long before"

    # However long after, while the feed's latest full parse listed it, it stays.
    await db.storage.prune_stories(T0 + 400 * DAY, START, 100)
    assert set(db.story_titles()) == {"Listed, undated"}
