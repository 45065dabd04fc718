"""The contract of one alert per story across outlets: near-identical titles are copies, and a
copy from another feed queues one edit of each alert about its original."""

import pytest

from bot.storage import Delivery, EditOutcome
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    HOUR,
    T0,
    Db,
    add_feed,
    candidate,
    everyone,
    save,
)

TITLE = "Ukraine and Russia agree to a new round of peace talks in Geneva"
REWORDED = "Ukraine, Russia agree to new round of peace talks in Geneva"


@pytest.mark.parametrize(
    ("later", "alerted"),
    [(1 * HOUR, False), (47 * HOUR, False), (49 * HOUR, True)],
    ids=["an hour later", "47 h later", "49 h later"],
)
async def test_a_near_identical_title_from_another_feed_is_a_copy_for_48_hours(
    db: Db, later: float, alerted: bool
) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, TITLE))
    saved = await save(db, b, candidate(b, REWORDED), now=T0 + later)
    assert saved.new_stories == 1
    assert saved.matched == (1 if alerted else 0)
    assert len(db.alerts()) == (2 if alerted else 1)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Generic: beside the format words and numbers too little says which story it is.
        ("Ukraine live updates: day 1,000", "Ukraine live updates: day 1,000, latest"),
        # The numbers differ: a toll that rose, another year.
        (
            "Strike on Kharkiv market kills 12 people, officials say",
            "Strike on Kharkiv market kills 14 people, officials say",
        ),
        # A negation turns it around.
        ("Trump says he will meet Putin in Alaska", "Trump says he won't meet Putin in Alaska"),
        # Another story about the same thing.
        (TITLE, "Ukraine and Russia agree on prisoner exchange ahead of Geneva talks"),
    ],
    ids=["generic", "numbers", "negation", "another story"],
)
async def test_titles_that_are_not_the_same_story_alert(db: Db, first: str, second: str) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, first))
    saved = await save(db, b, candidate(b, second), now=T0 + HOUR)
    assert saved.matched == 1


async def test_a_near_identical_title_in_the_same_feed_is_another_item(db: Db) -> None:
    a = await add_feed(db, "a")
    await save(db, a, candidate(a, TITLE))
    saved = await save(db, a, candidate(a, REWORDED), now=T0 + HOUR)
    assert saved.matched == 1


async def test_copies_from_other_feeds_queue_one_edit_of_each_alert(db: Db) -> None:
    a, b, c = await add_feed(db, "a"), await add_feed(db, "b"), await add_feed(db, "c")
    await save(db, a, candidate(a, TITLE, link="https://a.example/talks"), match=everyone(ANN, BOB))
    ann, bob = (row["id"] for row in db.outbox())
    # Ann's alert went out (Telegram numbered it 77); Bob's is still pending.
    await db.storage.record_deliveries([Delivery(ann, ANN, "sent", 1, message_id=77)], T0)

    saved = await save(db, b, candidate(b, REWORDED, link="https://b.example/1"), now=T0 + 60)
    assert (saved.matched, saved.edits) == (0, 2)
    # Same link as the original (tracking junk aside), another title, a third feed.
    saved = await save(
        db, c, candidate(c, "Talks again", link="https://a.example/talks?utm_source=c"), now=T0 + 90
    )
    assert (saved.matched, saved.edits) == (0, 2), "the same two edits, renewed"
    # A copy in the original's own feed names no other outlet.
    saved = await save(db, a, candidate(a, TITLE + "!", link="https://a.example/x"), now=T0 + 99)
    assert saved.edits == 0

    due = await db.storage.due_alert_edits(T0 + 100, limit=10)
    assert due.waiting == 1, "Bob's edit waits for his alert"
    [edit] = due.edits
    assert (edit.alert.id, edit.message_id, edit.generation) == (ann, 77, 2)
    assert edit.alert.also == (
        ("Feed 2", "https://b.example/1"),
        ("Feed 3", "https://a.example/talks?utm_source=c"),
    )
    [bob_alert] = await db.storage.load_outbox([bob])
    assert bob_alert.also == edit.alert.also, "an alert sent later renders its Also line"

    # An outcome for an older generation leaves the edit pending: a copy came meanwhile.
    await db.storage.record_alert_edits([EditOutcome(ann, "done", 1, generation=1)], T0 + 101)
    assert len((await db.storage.due_alert_edits(T0 + 102, limit=10)).edits) == 1
    await db.storage.record_alert_edits([EditOutcome(ann, "done", 1, generation=2)], T0 + 103)
    assert (await db.storage.due_alert_edits(T0 + 104, limit=10)).edits == ()

    # Bob's alert failed: his edit is dropped, nothing is left waiting.
    await db.storage.record_deliveries([Delivery(bob, BOB, "failed", 1, error="x")], T0 + 105)
    due = await db.storage.due_alert_edits(T0 + 106, limit=10)
    assert (due.edits, due.waiting, due.next_due) == ((), 0, None)


async def test_an_edit_retried_later_is_due_then(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, TITLE))
    [row] = db.outbox()
    await db.storage.record_deliveries([Delivery(row["id"], ANN, "sent", 1, message_id=5)], T0)
    await save(db, b, candidate(b, REWORDED), now=T0 + 60)
    retry = EditOutcome(row["id"], "pending", 0, generation=1, next_attempt_at=T0 + 130)
    await db.storage.record_alert_edits([retry], T0 + 100)
    due = await db.storage.due_alert_edits(T0 + 120, limit=10)
    assert (due.edits, due.next_due) == ((), T0 + 130)
    assert len((await db.storage.due_alert_edits(T0 + 130, limit=10)).edits) == 1


async def test_a_copy_of_a_story_in_a_digest_is_not_sent_and_edits_nothing(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    stories = [candidate(a, f"{TITLE} on day {n}") for n in range(3)]
    await save(db, a, *stories, burst_limit=1)
    kinds = [row["kind"] for row in db.outbox()]
    assert kinds.count("digest") == 2
    copy = "Ukraine, Russia agree to new round of peace talks in Geneva on day 2"
    saved = await save(db, b, candidate(b, copy), now=T0 + 60)
    assert (saved.matched, saved.edits) == (0, 0)
    assert len(db.outbox()) == 3
