"""Storage behind the alert pipeline: save_poll, the outbox and feed state, on a real file."""

import asyncio
import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage import (
    Delivery,
    Feed,
    PollToSave,
    SavedPoll,
    Storage,
    StoryMatcher,
    StoryToSave,
    UserStatus,
)
from bot.storage.sqlite import SqliteStorage
from bot.stories import story_from_entry
from bot.text import tokenize

HOUR = 3600.0
T0 = 1_700_000_000.0
ANN = 6001
BOB = 6002
CAROL = 6003
_serial = itertools.count(1)


@dataclass
class Db:
    storage: Storage
    path: Path

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Read through a second connection: what another process would see committed."""
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            return list(db.execute(sql, params))

    def outbox(self) -> list[sqlite3.Row]:
        return self.rows("SELECT * FROM outbox ORDER BY id")

    def alerts(self) -> list[tuple[int, str]]:
        """(user, story title) of every outbox row, oldest first."""
        rows = self.rows(
            "SELECT o.user_id, s.title FROM outbox o JOIN stories s ON s.id = o.story_id "
            "ORDER BY o.id"
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    def story_titles(self) -> list[str]:
        return [str(row[0]) for row in self.rows("SELECT title FROM stories ORDER BY id")]

    async def feed(self, feed_id: int) -> Feed:
        [feed] = [f for f in await self.storage.list_feeds() if f.id == feed_id]
        return feed


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Db]:
    path = tmp_path / "newshound.sqlite3"
    storage = await SqliteStorage.open(path)
    try:
        for user_id in (ANN, BOB, CAROL):
            await storage.register_user(user_id, None, None, now=T0)
        yield Db(storage, path)
    finally:
        await storage.close()


async def add_feed(db: Db, name: str = "a") -> Feed:
    feed, _ = await db.storage.add_feed(f"https://{name}.example/feed.xml", T0, trusted=True)
    return feed


def candidate(
    feed: Feed,
    title: str,
    *,
    guid: str | None = None,
    link: str | None = None,
    alertable: bool = True,
) -> StoryToSave:
    n = next(_serial)
    story = story_from_entry(
        feed.id,
        guid or f"urn:test:{n}",
        link if link is not None else f"https://{feed.id}.example/story/{n}",
        title,
        datetime.fromtimestamp(T0, UTC),
        f"Summary of {title}.",
    )
    return StoryToSave(story, tuple(tokenize(story.title)), alertable)


def everyone(*users: int) -> StoryMatcher:
    """A matcher that says every story matches these users' "Ukraine" subscription."""
    matched: Mapping[int, tuple[str, ...]] = dict.fromkeys(users, ("Ukraine",))
    return lambda _: matched


async def save(
    db: Db,
    feed: Feed,
    *stories: StoryToSave,
    now: float = T0,
    match: StoryMatcher | None = None,
    alerts_enabled: bool = True,
    burst_limit: int = 100,
) -> SavedPoll:
    return await db.storage.save_poll(
        PollToSave(
            feed_id=feed.id,
            url=feed.url,
            title=f"Feed {feed.id}",
            etag='"v1"',
            last_modified=None,
            next_poll_at=now + 300,
            now=now,
            alerts_enabled=alerts_enabled,
            stories=stories,
            burst_limit=burst_limit,
        ),
        match=match or everyone(ANN),
    )


# ---- save_poll ----


async def test_save_poll_stores_stories_and_one_row_per_matching_user(db: Db) -> None:
    feed = await add_feed(db)
    saved = await save(db, feed, candidate(feed, "Ukraine talks"), match=everyone(ANN, BOB))
    assert saved == SavedPoll(new_stories=1, alerts=2)
    assert db.alerts() == [(ANN, "Ukraine talks"), (BOB, "Ukraine talks")]
    rows = db.outbox()
    assert all(row["status"] == "pending" and row["kind"] == "alert" for row in rows)
    assert all(row["created_at"] == T0 for row in rows)


async def test_a_user_matched_by_several_subscriptions_gets_one_row(db: Db) -> None:
    feed = await add_feed(db)
    saved = await save(
        db, feed, candidate(feed, "Ukraine and NATO"), match=lambda _: {ANN: ("NATO", "Ukraine")}
    )
    assert saved.alerts == 1
    [item] = await db.storage.load_outbox([db.outbox()[0]["id"]])
    assert item.matched == ("NATO", "Ukraine")


async def test_outbox_is_unique_per_story_and_user(db: Db) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine talks"))
    story_id = db.outbox()[0]["story_id"]
    with contextlib.closing(sqlite3.connect(db.path)) as raw, pytest.raises(sqlite3.IntegrityError):
        raw.execute(
            "INSERT INTO outbox (kind, story_id, user_id, created_at) VALUES ('alert', ?, ?, ?)",
            (story_id, ANN, T0),
        )


async def test_a_story_already_seen_is_not_stored_or_alerted_again(db: Db) -> None:
    feed = await add_feed(db)
    story = candidate(feed, "Ukraine talks")
    assert await save(db, feed, story) == SavedPoll(new_stories=1, alerts=1)
    assert await save(db, feed, story, now=T0 + 300) == SavedPoll(new_stories=0, alerts=0)
    retitled = StoryToSave(
        story_from_entry(
            feed.id, story.story.key, story.story.link, "Ukraine talks (updated)", None, None
        ),
        ("ukraine",),
        alertable=True,
    )
    assert await save(db, feed, retitled, now=T0 + 600) == SavedPoll(0, 0)
    assert db.story_titles() == ["Ukraine talks"]
    assert len(db.outbox()) == 1


async def test_alerts_go_to_active_users_only(db: Db) -> None:
    feed = await add_feed(db)
    await db.storage.set_user_status(BOB, UserStatus.PAUSED, now=T0)
    await db.storage.set_user_status(CAROL, UserStatus.BLOCKED, now=T0)
    stranger = 6999  # matched by the index but never registered
    saved = await save(
        db, feed, candidate(feed, "Ukraine talks"), match=everyone(ANN, BOB, CAROL, stranger)
    )
    assert saved.alerts == 1
    assert [user for user, _ in db.alerts()] == [ANN]


async def test_alerts_disabled_records_stories_without_rows(db: Db) -> None:
    feed = await add_feed(db)
    stories = [candidate(feed, f"Ukraine update {n}") for n in range(3)]
    saved = await save(db, feed, *stories, alerts_enabled=False)
    assert saved == SavedPoll(new_stories=3, alerts=0)
    assert db.outbox() == []
    assert (await db.feed(feed.id)).primed
    again = await save(db, feed, *stories, candidate(feed, "Ukraine fresh"), now=T0 + 300)
    assert again == SavedPoll(new_stories=1, alerts=1), "the recorded ones stay seen"
    assert db.alerts() == [(ANN, "Ukraine fresh")]


async def test_stories_that_may_not_alert_are_recorded_only(db: Db) -> None:
    feed = await add_feed(db)
    saved = await save(db, feed, candidate(feed, "Old Ukraine piece", alertable=False))
    assert saved == SavedPoll(new_stories=1, alerts=0)
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
    assert saved == SavedPoll(new_stories=1, alerts=0), "recorded for feed b, not alerted"
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
    assert saved.alerts == (1 if alerted else 0)


async def test_empty_titles_do_not_deduplicate(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await save(db, a, candidate(a, ""))
    saved = await save(db, b, candidate(b, ""))
    assert saved.alerts == 1


async def test_a_burst_past_the_limit_becomes_digest_rows(db: Db) -> None:
    feed = await add_feed(db)
    stories = [candidate(feed, f"Ukraine update {n}") for n in range(5)]
    saved = await save(db, feed, *stories, match=everyone(ANN, BOB), burst_limit=2)
    assert saved.alerts == 10
    for user in (ANN, BOB):
        kinds = [row["kind"] for row in db.outbox() if row["user_id"] == user]
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

    def broken(_: StoryToSave) -> Mapping[int, tuple[str, ...]]:
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


# ---- the outbox ----


async def queue(db: Db, feed: Feed, user: int, count: int) -> list[int]:
    """Queue `count` alerts for one user; return their outbox ids."""
    before = {row["id"] for row in db.outbox()}
    stories = [candidate(feed, f"Ukraine story for {user} #{n}") for n in range(count)]
    await save(db, feed, *stories, match=everyone(user))
    return [row["id"] for row in db.outbox() if row["id"] not in before]


async def test_pending_outbox_lists_pending_rows_after_an_id(db: Db) -> None:
    feed = await add_feed(db)
    ann = await queue(db, feed, ANN, 3)
    bob = await queue(db, feed, BOB, 2)
    every = await db.storage.pending_outbox()
    assert [row.id for row in every] == ann + bob
    assert [row.user_id for row in every] == [ANN] * 3 + [BOB] * 2
    assert {row.kind for row in every} == {"alert"}
    assert all(row.next_attempt_at == 0 for row in every)
    assert [row.id for row in await db.storage.pending_outbox(after_id=ann[-1])] == bob
    assert await db.storage.pending_outbox(after_id=bob[-1]) == []

    await db.storage.record_deliveries(
        [
            Delivery(ann[0], ANN, "sent", 1),
            Delivery(ann[1], ANN, "pending", 1, next_attempt_at=T0 + 30, error="Bad Gateway"),
        ],
        now=T0,
    )
    pending = await db.storage.pending_outbox()
    assert [row.id for row in pending] == ann[1:] + bob
    assert pending[0].next_attempt_at == T0 + 30


async def test_load_outbox_returns_what_a_message_needs(db: Db) -> None:
    feed = await add_feed(db)
    [row_id] = await queue(db, feed, ANN, 1)
    [item] = await db.storage.load_outbox([row_id, 999_999])
    assert item.id == row_id
    assert item.kind == "alert"
    assert item.user_id == ANN
    assert item.user_status is UserStatus.ACTIVE
    assert item.status == "pending"
    assert item.attempts == 0
    assert item.title.startswith("Ukraine story for")
    assert item.link is not None
    assert item.link.startswith("https://")
    assert item.summary is not None
    assert item.summary.startswith("Summary of")
    assert item.published == datetime.fromtimestamp(T0, UTC)
    assert item.source == f"Feed {feed.id}"
    assert item.matched == ("Ukraine",)
    assert await db.storage.load_outbox([]) == []
    await db.storage.set_user_status(ANN, UserStatus.PAUSED, now=T0)
    [paused] = await db.storage.load_outbox([row_id])
    assert paused.user_status is UserStatus.PAUSED


async def test_record_deliveries_writes_each_outcome(db: Db) -> None:
    feed = await add_feed(db)
    sent, failed, retry, dropped = await queue(db, feed, ANN, 4)
    await db.storage.record_deliveries(
        [
            Delivery(sent, ANN, "sent", 1),
            Delivery(failed, ANN, "failed", 1, error="Chat not found"),
            Delivery(retry, ANN, "pending", 2, next_attempt_at=T0 + 8, error="Bad Gateway"),
            Delivery(dropped, ANN, "dropped", 0, error="user is paused"),
        ],
        now=T0 + 5,
    )
    rows = {row["id"]: row for row in db.outbox()}
    assert (rows[sent]["status"], rows[sent]["attempts"], rows[sent]["sent_at"]) == (
        "sent",
        1,
        T0 + 5,
    )
    assert (rows[failed]["status"], rows[failed]["error"]) == ("failed", "Chat not found")
    assert rows[failed]["sent_at"] is None
    assert (rows[retry]["status"], rows[retry]["attempts"]) == ("pending", 2)
    assert rows[retry]["next_attempt_at"] == T0 + 8
    assert rows[retry]["sent_at"] is None
    assert rows[dropped]["status"] == "dropped"
    assert await db.storage.outbox_counts() == {"sent": 1, "failed": 1, "pending": 1, "dropped": 1}


async def test_a_blocked_user_loses_their_pending_rows_only(db: Db) -> None:
    feed = await add_feed(db)
    ann_sent, ann_blocked, *ann_rest = await queue(db, feed, ANN, 4)
    bob = await queue(db, feed, BOB, 2)
    await db.storage.record_deliveries([Delivery(ann_sent, ANN, "sent", 1)], now=T0)

    await db.storage.record_deliveries(
        [
            Delivery(
                ann_blocked,
                ANN,
                "failed",
                1,
                error="Forbidden: bot was blocked by the user",
                user_blocked=True,
            )
        ],
        now=T0 + 1,
    )

    user = await db.storage.get_user(ANN)
    assert user is not None
    assert user.status is UserStatus.BLOCKED
    rows = {row["id"]: row for row in db.outbox()}
    assert rows[ann_sent]["status"] == "sent", "history is kept"
    assert rows[ann_blocked]["error"] == "Forbidden: bot was blocked by the user"
    for row_id in ann_rest:
        assert rows[row_id]["status"] not in ("pending", "sent")
        assert rows[row_id]["sent_at"] is None
    assert [row.id for row in await db.storage.pending_outbox()] == bob
    bob_user = await db.storage.get_user(BOB)
    assert bob_user is not None
    assert bob_user.status is UserStatus.ACTIVE


async def test_record_deliveries_of_nothing_is_a_no_op(db: Db) -> None:
    await db.storage.record_deliveries([], now=T0)
    assert await db.storage.outbox_counts() == {}


async def test_drop_pending_for_user(db: Db) -> None:
    feed = await add_feed(db)
    first, _ = await queue(db, feed, ANN, 2)
    bob = await queue(db, feed, BOB, 1)
    await db.storage.record_deliveries([Delivery(first, ANN, "sent", 1)], now=T0)
    assert await db.storage.drop_pending_for_user(ANN, "user paused") == 1
    assert [row.id for row in await db.storage.pending_outbox()] == bob
    assert await db.storage.outbox_counts() == {"sent": 1, "dropped": 1, "pending": 1}


# ---- feeds ----


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
    assert [f.id for f in await db.storage.due_feeds(T0)] == [a.id, b.id, c.id], "new: due now"
    await save(db, a, now=T0)  # next poll at T0 + 300
    await db.storage.record_poll_failure(b.id, "HTTP 503", T0 + 100, T0)
    await db.storage.record_not_modified(c.id, T0 + 200, T0)
    assert await db.storage.due_feeds(T0 + 50) == []
    assert [f.id for f in await db.storage.due_feeds(T0 + 250)] == [b.id, c.id]
    assert [f.id for f in await db.storage.due_feeds(T0 + 300)] == [b.id, c.id, a.id]
    assert await db.storage.next_poll_time() == T0 + 100


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


async def test_removing_a_feed_keeps_its_stories_for_deduplication(db: Db) -> None:
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    link = "https://news.example/ukraine-talks"
    await save(db, a, candidate(a, "Ukraine talks resume", link=link))
    assert await db.storage.remove_feed(a.id)
    assert not await db.storage.remove_feed(a.id)
    assert [f.id for f in await db.storage.list_feeds()] == [b.id]
    assert db.story_titles() == ["Ukraine talks resume"]
    saved = await save(db, b, candidate(b, "Talks resume", link=link), now=T0 + 60)
    assert saved == SavedPoll(new_stories=1, alerts=0)
    assert len(db.outbox()) == 1
    [item] = await db.storage.load_outbox([db.outbox()[0]["id"]])
    assert item.title == "Ukraine talks resume", "a queued alert outlives its feed"
