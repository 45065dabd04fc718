"""Retention: old outbox rows and stories pruned in batches, space given back, on real files."""

import asyncio
import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_settings
from bot.dryrun import index_pending
from bot.ingest.incremental import KNOWN_ITEMS_MAX_AGE
from bot.ingest.stories import story_from_entry
from bot.matching.dryrun import search
from bot.matching.query import parse_query
from bot.render import admin as admin_text
from bot.storage import Delivery, Feed, PollToSave, Stats, Storage, StoryMatcher, StoryToSave
from bot.storage.retention import (
    DAY_SECONDS,
    MIN_STORY_KEEP,
    Cutoffs,
    Maintenance,
    MaintenanceReport,
    retention_cutoffs,
)
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import analyze
from bot.text.packed import pack
from tests.feedserver import Item
from tests.storage_contract.helpers import fan_out, own_query, private
from tests.test_poller import ANN as POLLER_ANN
from tests.test_poller import CountingPool, Harness, counting_parsers, harness_for

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
HOUR = 3600.0
DAY = DAY_SECONDS
NOW = 1_750_000_000.0
ANN, BOB, CAROL = 7001, 7002, 7003
BULK = 600  # old stories with long summaries: many batches, and pages to give back
_serial = itertools.count(1)


# ---- the policy and the texts (pure) ----


def test_cutoffs_follow_the_settings() -> None:
    assert retention_cutoffs(NOW, 7, 30) == Cutoffs(NOW - 7 * DAY, NOW - 30 * DAY)


def test_stories_are_never_pruned_inside_the_dedup_window() -> None:
    assert MIN_STORY_KEEP.total_seconds() == 48 * HOUR
    assert retention_cutoffs(NOW, 1, 1).stories_before == NOW - 48 * HOUR


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (12_900_000, "12.3 MB"), (3 << 30, "3.0 GB")],
)
def test_file_size_for_people(size: int, text: str) -> None:
    assert admin_text.file_size(size) == text


def test_stats_text_shows_the_database_size() -> None:
    figures = Stats({}, 0, [], 0, 0, 0, 0, 0, None, database_bytes=5 << 20, free_bytes=8192)
    assert "Database: 5.0 MB (8.0 KB free inside)" in admin_text.stats(figures, NOW, NOW, "1")


def test_retention_settings_are_read_with_defaults() -> None:
    defaults = load_settings({"BOT_TOKEN": TOKEN})
    assert (defaults.outbox_retention_days, defaults.story_retention_days) == (7, 30)
    read = load_settings(
        {"BOT_TOKEN": TOKEN, "OUTBOX_RETENTION_DAYS": "3", "STORY_RETENTION_DAYS": "3"}
    )
    assert (read.outbox_retention_days, read.story_retention_days) == (3, 3)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OUTBOX_RETENTION_DAYS": "0"}, "OUTBOX_RETENTION_DAYS must be at least 1"),
        ({"OUTBOX_RETENTION_DAYS": "1.5"}, "OUTBOX_RETENTION_DAYS must be a whole number"),
        ({"STORY_RETENTION_DAYS": "2"}, "STORY_RETENTION_DAYS must be more than 2 days"),
        (
            {"OUTBOX_RETENTION_DAYS": "10", "STORY_RETENTION_DAYS": "9"},
            r"STORY_RETENTION_DAYS \(9\) must be at least OUTBOX_RETENTION_DAYS \(10\)",
        ),
    ],
    ids=["zero", "fraction", "inside the dedup window", "shorter than the outbox"],
)
def test_bad_retention_settings_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"BOT_TOKEN": TOKEN, **environ})


# ---- an aged database, built through production code ----


@dataclass
class Aged:
    storage: Storage
    path: Path
    feeds: dict[str, Feed] = field(default_factory=dict)

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            return list(db.execute(sql, params))

    def titles(self) -> set[str]:
        rows = self.rows("SELECT title FROM stories WHERE title NOT LIKE 'bulk %'")
        return {str(row[0]) for row in rows}

    def outbox(self) -> list[tuple[Any, ...]]:
        """(id, user, status, attempts, story title) of every outbox row."""
        return self.rows(
            """SELECT o.id, o.chat_id, o.status, o.attempts, s.title FROM outbox o
               JOIN stories s ON s.id = o.story_id ORDER BY o.id"""
        )

    def pragma(self, name: str) -> int:
        return int(self.rows(f"PRAGMA {name}")[0][0])

    async def poll(
        self,
        feed: str,
        now: float,
        *stories: StoryToSave,
        match: dict[str, tuple[int, ...]] | None = None,
    ) -> int:
        """Save a poll; match maps a title to the users it alerts. Return alerts queued."""
        wanted = match or {}
        for user in {user for users in wanted.values() for user in users}:
            await self.storage.add_subscriptions(
                user, [(own_query(user), "Ukraine")], limit=10, now=now
            )

        def matcher(candidate: StoryToSave) -> tuple[str, ...]:
            return tuple(own_query(user) for user in wanted.get(candidate.story.title, ()))

        matching: StoryMatcher = matcher
        saved = await self.storage.save_poll(
            PollToSave(
                feed_id=self.feeds[feed].id,
                url=self.feeds[feed].url,
                title=feed,
                etag=None,
                last_modified=None,
                next_poll_at=now + 300,
                now=now,
                alerts_enabled=True,
                stories=stories,
            ),
            match=matching,
        )
        claims = await fan_out(self.storage, now)
        assert saved.matched <= sum(len(claim.rows) for claim in claims)
        return sum(len(claim.rows) for claim in claims)

    async def deliver(self, title: str, user: int, status: str, now: float) -> None:
        [(row_id,)] = self.rows(
            "SELECT o.id FROM outbox o JOIN stories s ON s.id = o.story_id "
            "WHERE s.title = ? AND o.chat_id = ?",
            (title, user),
        )
        await self.storage.record_deliveries([Delivery(int(row_id), user, status, 1)], now)


def entry(
    feed: Feed,
    title: str,
    published: float | None,
    *,
    link: str | None = None,
    summary: str | None = None,
) -> StoryToSave:
    n = next(_serial)
    story = story_from_entry(
        feed.id,
        f"urn:test:{n}",
        link or f"https://{feed.id}.example/story/{n}",
        title,
        datetime.fromtimestamp(published, UTC) if published is not None else None,
        summary or f"Summary of {title}.",
    )
    analyzed = analyze(story.title)
    return StoryToSave(story, analyzed, alertable=True, packed=pack(analyzed))


OLD = NOW - 40 * DAY
MID = NOW - 10 * DAY
RECENT = NOW - 47 * HOUR
MID_LINK = "https://news.example/mid-story"


async def build_aged(storage: Storage, path: Path) -> Aged:
    """Forty days of history: finished and pending rows, dated and undated stories."""
    aged = Aged(storage, path)
    for user in (ANN, BOB, CAROL):
        await storage.register_chat(private(user), now=OLD)
    for name in ("a", "b", "gone"):
        aged.feeds[name], _ = await storage.add_feed(
            f"https://{name}.example/feed.xml", OLD, trusted=True
        )
    a, gone = aged.feeds["a"], aged.feeds["gone"]
    still_listed = entry(a, "old undated, still listed", None)
    await aged.poll(
        "a",
        OLD,
        entry(a, "old sent", OLD),
        entry(a, "old failed", OLD),
        entry(a, "old dropped", OLD),
        entry(a, "old pending", OLD),
        entry(a, "old unalerted", OLD),
        entry(a, "old undated", None),
        still_listed,
        *(entry(a, f"bulk {n}", OLD, summary="long text " * 200) for n in range(BULK)),
        match={
            "old sent": (ANN,),
            "old failed": (BOB,),
            "old dropped": (CAROL,),
            "old pending": (ANN,),
        },
    )
    await aged.deliver("old sent", ANN, "sent", OLD + 60)
    await aged.deliver("old failed", BOB, "failed", OLD + 60)
    await storage.drop_pending_for_chat(CAROL, "paused")
    await aged.poll("gone", OLD, entry(gone, "undated of a removed feed", None))
    assert await storage.remove_feed(gone.id)
    await aged.poll("a", MID, entry(a, "mid", MID, link=MID_LINK), match={"mid": (ANN,)})
    await aged.deliver("mid", ANN, "sent", MID + 60)
    # Each poll is a full parse of feed a: its latest lists one of the old undated stories.
    recent = entry(a, "Recent title", RECENT)
    await aged.poll("a", RECENT, recent, still_listed, match={"Recent title": (ANN,)})
    await aged.deliver("Recent title", ANN, "sent", RECENT + 60)
    return aged


@pytest.fixture
async def aged(tmp_path: Path) -> AsyncIterator[Aged]:
    path = tmp_path / "newshound.sqlite3"
    storage = await SqliteStorage.open(path)
    try:
        yield await build_aged(storage, path)
    finally:
        await storage.close()


def maintenance(aged: Aged, *, vacuum_pages: int = 256) -> Maintenance:
    return Maintenance(
        aged.storage,
        outbox_days=7,
        story_days=30,
        clock=lambda: NOW,
        batch_rows=100,
        vacuum_pages=vacuum_pages,
    )


async def test_pruning_removes_old_finished_rows_and_old_stories_only(aged: Aged) -> None:
    pending_before = [row for row in aged.outbox() if row[2] == "pending"]
    assert [row[4] for row in pending_before] == ["old pending"]

    report = await maintenance(aged).run_once()

    assert [row[1:] for row in aged.outbox()] == [
        (ANN, "pending", 0, "old pending"),
        (ANN, "sent", 1, "Recent title"),
    ]
    assert [row for row in aged.outbox() if row[2] == "pending"] == pending_before
    assert aged.titles() == {"old pending", "old undated, still listed", "mid", "Recent title"}
    assert aged.rows("SELECT count(*) FROM stories WHERE title LIKE 'bulk %'") == [(0,)]
    assert report.outbox_deleted == 4  # old sent, failed, dropped; mid's sent row
    # Old sent/failed/dropped/unalerted, the undated one the feed no longer lists, the
    # removed feed's.
    assert report.stories_deleted == BULK + 6
    assert report.batches > BULK // 100, "in small batches"
    assert aged.rows("PRAGMA foreign_key_check") == []
    assert await aged.storage.integrity_check() == "ok"

    again = await maintenance(aged).run_once()
    assert (again.outbox_deleted, again.stories_deleted) == (0, 0)


async def test_the_dry_runs_texts_keep_a_week_and_leave_its_index(aged: Aged) -> None:
    await index_pending(aged.storage)
    await maintenance(aged).run_once()
    kept = aged.rows(
        "SELECT s.title FROM story_texts t JOIN stories s ON s.id = t.story_id ORDER BY s.id"
    )
    assert kept == [("Recent title",)], "mid's story stays, its text (10 days) goes"
    assert "mid" in aged.titles()
    [(indexed,)] = aged.rows("SELECT count(*) FROM story_search")
    assert indexed == 1, "pruned texts are out of the index itself"
    found = await aged.storage.search_story_ids(search(parse_query("title")).candidates, OLD)
    assert found == [
        row[0] for row in aged.rows("SELECT id FROM stories WHERE title = 'Recent title'")
    ]
    assert await aged.storage.integrity_check() == "ok"


async def test_freed_space_goes_back_to_the_file_system(aged: Aged) -> None:
    pages_before = aged.pragma("page_count")
    report = await maintenance(aged, vacuum_pages=16).run_once()
    assert report.free_pages == 0
    assert aged.pragma("freelist_count") == 0
    # The bulk stories alone filled ~1.2 MB: their pages left the file.
    assert aged.pragma("page_count") * aged.pragma("page_size") < (
        pages_before * aged.pragma("page_size") - 1_000_000
    )
    stats = await aged.storage.stats(NOW)
    assert stats.database_bytes == aged.pragma("page_count") * aged.pragma("page_size")
    assert stats.free_bytes == 0


async def test_dedup_still_works_after_pruning(aged: Aged) -> None:
    await maintenance(aged).run_once()
    b = aged.feeds["b"]
    alerts = await aged.poll(
        "b",
        NOW,
        entry(b, "Recent title", NOW, link="https://b.example/other-link"),
        entry(b, "Mid again", NOW, link=MID_LINK + "?utm_source=b"),
        entry(b, "Brand new", NOW),
        match={"Recent title": (ANN,), "Mid again": (ANN,), "Brand new": (ANN,)},
    )
    assert alerts == 1
    assert [row[4] for row in aged.outbox() if row[2] == "pending"] == ["old pending", "Brand new"]


async def test_an_old_database_file_is_switched_to_incremental_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    storage = await SqliteStorage.open(path)
    await build_aged(storage, path)
    await storage.close()
    # What every file made before retention looks like: no auto-vacuum.
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA auto_vacuum = NONE")
        db.execute("VACUUM")
        assert db.execute("PRAGMA auto_vacuum").fetchone() == (0,)
        stories = db.execute("SELECT count(*) FROM stories").fetchone()

    reopened = await SqliteStorage.open(path)
    try:
        aged = Aged(reopened, path)
        assert aged.pragma("auto_vacuum") == 2  # incremental
        assert aged.rows("SELECT count(*) FROM stories") == [stories]
        assert await reopened.integrity_check() == "ok"
        report = await Maintenance(
            reopened, outbox_days=7, story_days=30, clock=lambda: NOW
        ).run_once()
        assert report.stories_deleted > BULK
        assert aged.pragma("freelist_count") == 0
    finally:
        await reopened.close()


async def test_a_new_database_starts_in_incremental_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    storage = await SqliteStorage.open(path)
    await storage.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA auto_vacuum").fetchone() == (2,)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_maintenance_task_runs_on_its_clock(aged: Aged) -> None:
    clock = Clock(NOW)
    passes: list[MaintenanceReport] = []
    ran = asyncio.Condition()

    def on_pass(report: MaintenanceReport) -> None:
        passes.append(report)
        asyncio.get_running_loop().create_task(notify())

    async def notify() -> None:
        async with ran:
            ran.notify_all()

    async def passes_reach(count: int) -> None:
        async with ran:
            await asyncio.wait_for(ran.wait_for(lambda: len(passes) >= count), 30)

    task = Maintenance(
        aged.storage,
        outbox_days=7,
        story_days=30,
        clock=clock,
        first_delay=60,
        interval=HOUR,
        tick=0.01,
        on_pass=on_pass,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(task.run(stop))
    try:
        clock.now = NOW + 60
        await passes_reach(1)
        assert passes[0].now == NOW + 60, "the first pass waits for its delay on the clock"
        assert [row[4] for row in aged.outbox() if row[2] == "sent"] == ["Recent title"]

        clock.now = NOW + 6 * DAY  # the recent row is now 8 days old
        await passes_reach(2)
        assert passes[1].now == NOW + 6 * DAY
        assert passes[1].outbox_deleted == 1
        assert [row[4] for row in aged.outbox()] == ["old pending"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert len(passes) == 2


# ---- a feed that still lists pruned stories, through the real poller ----


parsers = pytest.fixture(scope="module", name="parsers")(counting_parsers)


def undated(n: int, title: str) -> Item:
    return Item(title=title, link=f"https://news.example/story/{n}", guid=f"urn:test:{n}")


async def test_a_pruned_story_still_in_its_feed_does_not_alert_again(
    tmp_path: Path, parsers: CountingPool
) -> None:
    async with harness_for(tmp_path, parsers) as h:
        await _alert_then_age(h)
        titles = {str(row[0]) for row in _rows(h, "SELECT title FROM stories")}
        assert "Ukraine dated" not in titles, "the dated story was pruned"
        assert "Ukraine undated" in titles, "an undated story is all that remembers the entry"

        # The feed changes (a new item) and still lists both old entries.
        h.publish("/world.xml", h.fresh(3, "Ukraine fresh"))
        [report] = (await h.poll_after(HOUR)).values()
        assert report.status == "ok"
        assert report.new_stories == 3  # the fresh item; the two pruned ones, seen again
        assert report.matched == 1
        assert h.outbox() == [(POLLER_ANN, "alert", "Ukraine fresh")]


async def test_an_undated_story_its_feed_dropped_goes_and_one_still_listed_stays(
    tmp_path: Path, parsers: CountingPool
) -> None:
    async with harness_for(tmp_path, parsers) as h:
        h.publish("/world.xml", h.fresh(0, "Weather"))
        await h.add("/world.xml")
        await h.poll()
        h.publish("/world.xml", undated(1, "Ukraine kept"), undated(2, "Ukraine dropped"))
        await h.poll_after()
        ids = [int(row[0]) for row in _rows(h, "SELECT id FROM outbox ORDER BY id")]
        assert len(ids) == 2
        await h.storage.record_deliveries(
            [Delivery(row_id, POLLER_ANN, "sent", 1) for row_id in ids], h.clock()
        )

        # The feed drops one entry. A day on, its items are parsed in full again: the
        # other one is still listed.
        h.items["/world.xml"] = [i for i in h.items["/world.xml"] if i.get("guid") != "urn:test:2"]
        h.publish("/world.xml", h.fresh(3, "Weather again"))
        [report] = (await h.poll_after(KNOWN_ITEMS_MAX_AGE + HOUR)).values()
        assert report.parsed_entries == 3, "a full parse"

        h.clock.advance(31 * DAY)
        await Maintenance(h.storage, outbox_days=7, story_days=30, clock=h.clock).run_once()
        titles = {str(row[0]) for row in _rows(h, "SELECT title FROM stories")}
        assert "Ukraine dropped" not in titles, "no longer listed: nothing to remember"
        assert "Ukraine kept" in titles

        h.publish("/world.xml", h.fresh(4, "Ukraine fresh"))
        await h.poll_after()
        assert h.outbox() == [(POLLER_ANN, "alert", "Ukraine fresh")], "kept: no second alert"


async def _alert_then_age(h: Harness) -> None:
    """Alert ANN about a dated and an undated story, deliver, let 31 days pass, prune."""
    h.publish("/world.xml", h.fresh(0, "Weather"))
    await h.add("/world.xml")
    await h.poll()  # the first poll records, alerts nobody
    h.publish("/world.xml", h.fresh(1, "Ukraine dated"), undated(2, "Ukraine undated"))
    await h.poll_after()
    assert h.outbox() == [
        (POLLER_ANN, "alert", "Ukraine dated"),
        (POLLER_ANN, "alert", "Ukraine undated"),
    ]
    ids = [int(row[0]) for row in _rows(h, "SELECT id FROM outbox ORDER BY id")]
    await h.storage.record_deliveries(
        [Delivery(row_id, POLLER_ANN, "sent", 1) for row_id in ids], h.clock()
    )
    h.clock.advance(31 * DAY)
    report = await Maintenance(h.storage, outbox_days=7, story_days=30, clock=h.clock).run_once()
    assert report.outbox_deleted == 2
    assert h.outbox() == []


def _rows(h: Harness, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(h.path)) as db:
        return list(db.execute(sql))
