"""The contract of save_poll: new vs known stories, cross-feed dedup, outbox rows, bursts."""

import asyncio

import pytest

from bot.ingest.stories import story_from_entry
from bot.storage import ChatStatus, Delivery, SavedPoll, StoryToSave
from bot.text.analyzer import plain
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    CAROL,
    HOUR,
    T0,
    Audience,
    Db,
    add_feed,
    candidate,
    everyone,
    save,
)


async def test_save_poll_stores_stories_and_one_row_per_matching_user(db: Db) -> None:
    feed = await add_feed(db)
    saved = await save(db, feed, candidate(feed, "Ukraine talks"), match=everyone(ANN, BOB))
    assert saved == SavedPoll(new_stories=1, matched=1), "one story matched, whoever reads it"
    assert db.alerts() == [(ANN, "Ukraine talks"), (BOB, "Ukraine talks")]
    rows = db.outbox()
    assert all(row["status"] == "pending" and row["kind"] == "alert" for row in rows)
    assert all(row["created_at"] == T0 for row in rows)


async def test_a_user_matched_by_several_subscriptions_gets_one_row(db: Db) -> None:
    feed = await add_feed(db)
    saved = await save(
        db, feed, candidate(feed, "Ukraine and NATO"), match=Audience({ANN: ("NATO", "Ukraine")})
    )
    assert saved.matched == 1
    assert len(db.outbox()) == 1
    [item] = await db.storage.load_outbox([db.outbox()[0]["id"]])
    assert item.matched == ("NATO", "Ukraine")


async def test_a_story_already_seen_is_not_stored_or_alerted_again(db: Db) -> None:
    feed = await add_feed(db)
    story = candidate(feed, "Ukraine talks")
    assert await save(db, feed, story) == SavedPoll(new_stories=1, matched=1)
    assert await save(db, feed, story, now=T0 + 300) == SavedPoll(new_stories=0, matched=0)
    retitled = StoryToSave(
        story_from_entry(
            feed.id, story.story.key, story.story.link, "Ukraine talks (updated)", None, None
        ),
        plain(("ukraine",)),
        alertable=True,
    )
    assert await save(db, feed, retitled, now=T0 + 600) == SavedPoll(0, 0)
    assert db.story_titles() == ["Ukraine talks"]
    assert len(db.outbox()) == 1


@pytest.mark.parametrize("new_items_only", [False, True])
async def test_a_poll_of_only_new_items_matches_before_looking_and_still_stores_once(
    db: Db, new_items_only: bool
) -> None:
    feed = await add_feed(db)
    seen = candidate(feed, "Ukraine talks")
    await save(db, feed, seen)
    looked_at: list[str] = []

    def match(candidate: StoryToSave) -> tuple[str, ...]:
        looked_at.append(candidate.story.title)
        return ("ukraine",)

    # An incremental poll hands over an edited item too: matched up front, not stored again.
    fresh = candidate(feed, "Ukraine: new talks")
    saved = await save(
        db, feed, seen, fresh, now=T0 + 300, match=match, new_items_only=new_items_only
    )
    assert saved == SavedPoll(new_stories=1, matched=1)
    assert looked_at == (
        ["Ukraine talks", "Ukraine: new talks"] if new_items_only else ["Ukraine: new talks"]
    )
    assert db.alerts() == [(ANN, "Ukraine talks"), (ANN, "Ukraine: new talks")]


async def test_alerts_go_to_active_users_only(db: Db) -> None:
    feed = await add_feed(db)
    await db.storage.set_chat_status(BOB, ChatStatus.PAUSED, now=T0)
    await db.storage.set_chat_status(CAROL, ChatStatus.BLOCKED, now=T0)
    stranger = 6999  # matched by the index but never registered
    saved = await save(
        db, feed, candidate(feed, "Ukraine talks"), match=everyone(ANN, BOB, CAROL, stranger)
    )
    assert saved.matched == 1
    assert [user for user, _ in db.alerts()] == [ANN]


async def test_alerts_disabled_records_stories_without_rows(db: Db) -> None:
    feed = await add_feed(db)
    stories = [candidate(feed, f"Ukraine update {n}") for n in range(3)]
    saved = await save(db, feed, *stories, alerts_enabled=False)
    assert saved == SavedPoll(new_stories=3, matched=0)
    assert db.outbox() == []
    assert (await db.feed(feed.id)).primed
    again = await save(db, feed, *stories, candidate(feed, "Ukraine fresh"), now=T0 + 300)
    assert again == SavedPoll(new_stories=1, matched=1), "the recorded ones stay seen"
    assert db.alerts() == [(ANN, "Ukraine fresh")]


async def test_stories_that_may_not_alert_are_recorded_only(db: Db) -> None:
    feed = await add_feed(db)
    saved = await save(db, feed, candidate(feed, "Old Ukraine piece", alertable=False))
    assert saved == SavedPoll(new_stories=1, matched=0)
    assert db.story_titles() == ["Old Ukraine piece"]


async def test_stories_are_deduplicated_across_feeds_by_canonical_link(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    link = "https://news.example/ukraine-talks"
    await save(db, a, candidate(a, "Ukraine talks resume", link=f"{link}?utm_source=a"))
    saved = await save(
        db,
        b,
        candidate(b, "Talks on Ukraine to resume", link=f"{link}?fbclid=x&utm_medium=b"),
        now=T0 + 10 * 24 * HOUR,
    )
    # Recorded for feed b, not alerted: the alert of feed a's story will name it ("Also:").
    assert saved == SavedPoll(new_stories=1, matched=0, edits=1)
    assert db.alerts() == [(ANN, "Ukraine talks resume")]


@pytest.mark.parametrize(
    ("later", "alerted"),
    [(1 * HOUR, False), (47 * HOUR, False), (49 * HOUR, True)],
    ids=["an hour later", "47 h later", "49 h later"],
)
async def test_stories_are_deduplicated_by_normalised_title_within_48_hours(
    db: Db, later: float, alerted: bool
) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, "Ukraine talks resume in Geneva"))
    saved = await save(db, b, candidate(b, "UKRAINE: talks resume in Geneva!"), now=T0 + later)
    assert saved.new_stories == 1
    assert saved.matched == (1 if alerted else 0)
    assert len(db.alerts()) == (2 if alerted else 1)


async def test_empty_titles_do_not_deduplicate(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, ""))
    saved = await save(db, b, candidate(b, ""))
    assert saved.matched == 1
    assert len(db.alerts()) == 2


async def test_a_burst_past_the_limit_becomes_digest_rows(db: Db) -> None:
    feed = await add_feed(db)
    stories = [candidate(feed, f"Ukraine update {n}") for n in range(5)]
    saved = await save(db, feed, *stories, match=everyone(ANN, BOB), burst_limit=2)
    assert saved.matched == 5
    for user in (ANN, BOB):
        kinds = [row["kind"] for row in db.outbox() if row["chat_id"] == user]
        assert kinds == ["alert", "alert", "digest", "digest", "digest"]


async def test_save_poll_updates_the_feed_state(db: Db) -> None:
    feed = await add_feed(db)
    await db.storage.record_poll_failure(feed.id, "HTTP 500", T0 + 60, T0)
    await save(db, feed, candidate(feed, "Ukraine talks"), candidate(feed, "More"), now=T0 + 60)
    stored = await db.feed(feed.id)
    assert stored.failures == 0
    assert stored.last_error is None
    assert stored.primed
    assert stored.etag == '"v1"'
    assert stored.title == f"Feed {feed.id}"
    assert stored.next_poll_at == T0 + 60 + 300
    assert stored.last_ok_at == T0 + 60
    assert stored.entries_seen == 2


async def test_a_failing_matcher_leaves_nothing_half_written(db: Db) -> None:
    feed = await add_feed(db)

    def broken(_: StoryToSave) -> tuple[str, ...]:
        raise RuntimeError("index bug")

    with pytest.raises(RuntimeError):
        await save(db, feed, candidate(feed, "Ukraine talks"), match=broken)
    assert db.story_titles() == []
    assert not (await db.feed(feed.id)).primed
    assert await save(db, feed, candidate(feed, "Ukraine talks")) == SavedPoll(1, 1)


async def test_concurrent_writers_share_the_connection_safely(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, "Ukraine primer"))
    [first] = await db.storage.pending_outbox()
    results = await asyncio.gather(
        save(db, a, *[candidate(a, f"Ukraine a{n}") for n in range(20)], now=T0 + 1),
        save(db, b, *[candidate(b, f"Ukraine b{n}") for n in range(20)], now=T0 + 1),
        db.storage.record_deliveries([Delivery(first.id, ANN, "sent", 1)], T0 + 1),
        db.storage.record_poll_failure(b.id, "HTTP 500", T0 + 60, T0 + 1),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(db.outbox()) == 41
    assert [row["status"] for row in db.outbox()].count("sent") == 1


async def test_a_poll_of_more_stories_than_one_statement_takes(db: Db) -> None:
    # Keys, links and titles are looked up in chunks of IN_CHUNK (500): here 700 keys and
    # titles, 450 links, with a repeated link and a repeated title that sort last.
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, "Old piece", link="https://zzz.example/last"))
    await save(db, a, candidate(a, "Zzz final word on Ukraine"))
    stories = [
        candidate(b, f"Ukraine update {n}", link="" if n < 250 else None) for n in range(698)
    ]
    stories += [
        candidate(b, "Another piece", link="https://zzz.example/last?utm_source=b"),
        candidate(b, "ZZZ: final word on Ukraine!", link=""),
    ]
    saved = await save(db, b, *stories, now=T0 + 60)
    # The two repeats are not alerted; the alerts of their originals will name them.
    assert saved == SavedPoll(new_stories=700, matched=698, edits=2)
    assert await save(db, b, *stories, now=T0 + 120) == SavedPoll(0, 0), "all 700 known"


@pytest.mark.parametrize("stories", [0, 2], ids=["no stories", "two stories"])
async def test_a_poll_of_a_removed_feed_stores_nothing(db: Db, stories: int) -> None:
    feed = await add_feed(db)
    assert await db.storage.remove_feed(feed.id)
    polled = [candidate(feed, f"Ukraine update {n}") for n in range(stories)]
    assert await save(db, feed, *polled) == SavedPoll(0, 0, feed_removed=True)
    assert db.story_titles() == []
