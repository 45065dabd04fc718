"""The contract of feeds: adding, polling state, removal."""

from bot.storage import Feed, SavedPoll
from tests.storage_contract.helpers import T0, Db, add_feed, candidate, save


async def test_add_feed_is_idempotent(db: Db) -> None:
    feed, created = await db.storage.add_feed("https://a.example/feed", T0, trusted=False)
    assert created
    assert (feed.url, feed.trusted, feed.primed, feed.failures) == (
        "https://a.example/feed",
        False,
        False,
        0,
    )
    again, created_again = await db.storage.add_feed(
        "https://a.example/feed", T0 + 5, trusted=True, title="Other"
    )
    assert not created_again
    assert again == feed
    assert len(await db.storage.list_feeds()) == 1


async def test_due_feeds_are_those_whose_time_has_come_most_overdue_first(db: Db) -> None:
    a, b, c = [await add_feed(db, name) for name in "abc"]
    assert [f.id for f in await lease(db, T0)] == [a.id, b.id, c.id], "new: due now"
    await save(db, a, now=T0)  # next poll at T0 + 300
    await db.storage.record_poll_failure(b.id, "HTTP 503", T0 + 100, T0)
    await db.storage.record_not_modified(c.id, T0 + 200, T0)
    assert await lease(db, T0 + 50) == []
    assert [f.id for f in await lease(db, T0 + 250)] == [b.id, c.id]
    await db.storage.record_not_modified(b.id, T0 + 300, T0 + 250)
    await db.storage.record_not_modified(c.id, T0 + 300, T0 + 250)
    assert [f.id for f in await lease(db, T0 + 300)] == [a.id, b.id, c.id]


async def lease(db: Db, now: float) -> list[Feed]:
    return await db.storage.lease_due_feeds("i1", now, now + 60, 100)


async def test_record_poll_failure_counts_in_a_row(db: Db) -> None:
    feed = await add_feed(db)
    await db.storage.record_poll_failure(feed.id, "HTTP 500", T0 + 60, T0)
    await db.storage.record_poll_failure(feed.id, "timed out after 30 s", T0 + 180, T0 + 60)
    stored = await db.feed(feed.id)
    assert stored.failures == 2
    assert stored.last_error == "timed out after 30 s"
    assert stored.next_poll_at == T0 + 180
    assert stored.last_polled_at == T0 + 60
    assert stored.last_ok_at is None


async def test_record_not_modified_is_a_success(db: Db) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Primer"))
    await db.storage.record_poll_failure(feed.id, "HTTP 500", T0 + 360, T0 + 300)
    await db.storage.record_not_modified(feed.id, T0 + 660, T0 + 360)
    stored = await db.feed(feed.id)
    assert (stored.failures, stored.last_error) == (0, None)
    assert stored.next_poll_at == T0 + 660
    assert stored.last_ok_at == T0 + 360
    assert stored.last_polled_at == T0 + 360
    assert stored.etag == '"v1"', "validators survive a 304"
    assert stored.entries_seen == 1


async def test_a_feed_keeps_the_digest_of_its_last_saved_body(db: Db) -> None:
    feed = await add_feed(db)
    assert feed.body_digest is None, "a new feed has seen no body"
    await save(db, feed, candidate(feed, "Primer"), body_digest="d1")
    assert (await db.feed(feed.id)).body_digest == "d1"
    await db.storage.record_not_modified(feed.id, T0 + 600, T0 + 300)
    await db.storage.record_poll_failure(feed.id, "HTTP 500", T0 + 900, T0 + 600)
    assert (await db.feed(feed.id)).body_digest == "d1", "kept until a save replaces it"
    await save(db, feed, now=T0 + 900, body_digest="d2")
    assert (await db.feed(feed.id)).body_digest == "d2"
    await save(db, feed, now=T0 + 1200)
    assert (await db.feed(feed.id)).body_digest is None, "a save without one forgets it"


async def test_removing_a_feed_keeps_its_stories_for_deduplication(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    link = "https://news.example/ukraine-talks"
    await save(db, a, candidate(a, "Ukraine talks resume", link=link))
    assert await db.storage.remove_feed(a.id)
    assert not await db.storage.remove_feed(a.id)
    assert [f.id for f in await db.storage.list_feeds()] == [b.id]
    assert db.story_titles() == ["Ukraine talks resume"]
    saved = await save(db, b, candidate(b, "Talks resume", link=link), now=T0 + 60)
    # A copy from another outlet: not alerted, and the original's alert will name it.
    assert saved == SavedPoll(new_stories=1, matched=0, edits=1)
    assert len(db.outbox()) == 1
    [item] = await db.storage.load_outbox([db.outbox()[0]["id"]])
    assert item.title == "Ukraine talks resume", "a queued alert outlives its feed"


async def test_a_feed_is_found_by_its_url(db: Db) -> None:
    feed = await add_feed(db, "a")
    assert await db.storage.get_feed_by_url(feed.url) == feed
    assert await db.storage.get_feed_by_url("https://unknown.example/feed.xml") is None
    assert await db.storage.next_poll_time() == 0.0, "a new feed is due at once"
