"""The SQLite backend itself: the file, schema and migrations, its connections, constraints."""

import asyncio
import contextlib
import sqlite3
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.delivery.worker import DeliveryWorker
from bot.storage import (
    BroadcastStatus,
    ChatStatus,
    ChatType,
    Delivery,
    SavedPoll,
    StorageError,
    StoryToSave,
    Subscription,
)
from bot.storage.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStorage
from tests.botapi_fake import BotApiFake
from tests.storage_contract.helpers import ANN, T0, Db, add_feed, candidate, private, save
from tests.storage_contract.sqlite_peek import SqlitePeek
from tests.test_delivery import eventually, make_bot, running


async def test_new_database_is_migrated_private_and_healthy(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    storage = await SqliteStorage.open(path)
    try:
        assert await storage.schema_version() == SCHEMA_VERSION
        assert await storage.integrity_check() == "ok"
    finally:
        await storage.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer"):
        await SqliteStorage.open(path)


async def test_old_schema_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, first_name TEXT,
                 status TEXT NOT NULL DEFAULT 'active', created_at REAL NOT NULL,
                 updated_at REAL NOT NULL);
               CREATE TABLE subscriptions (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL
                 REFERENCES users(id) ON DELETE CASCADE, query TEXT NOT NULL,
                 display TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (user_id, query));
               INSERT INTO users VALUES (7, 'ann', 'Ann', 'active', 1, 1);
               INSERT INTO subscriptions VALUES (1, 7, 'ukraine', 'Ukraine', 1);
               PRAGMA user_version = 1;"""
        )
    storage = await SqliteStorage.open(path)
    try:
        assert await storage.schema_version() == SCHEMA_VERSION
        assert [s.display for s in await storage.list_subscriptions(7)] == ["Ukraine"]
    finally:
        await storage.close()


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        await SqliteStorage.open(path)


@pytest.mark.parametrize(
    ("relative", "message"),
    [("missing/db.sqlite3", "does not exist"), ("", "is a directory")],
    ids=["missing directory", "directory"],
)
async def test_unusable_path_is_a_clear_error(tmp_path: Path, relative: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        await SqliteStorage.open(tmp_path / relative)


async def test_scheduler_reads_do_not_wait_for_a_write_transaction(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    storage = await SqliteStorage.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        feed, _ = await storage.add_feed("https://a.example/rss", now=1.0, trusted=True)
        # Another writer holds the database, so the storage's next write waits inside its
        # writer connection, as behind a long poll transaction.
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.create_task(
            storage.add_feed("https://b.example/rss", now=2.0, trusted=True)
        )
        await asyncio.sleep(0)  # let the write take the writer connection and block in SQLite
        due = await asyncio.wait_for(storage.lease_due_feeds("i", 10.0, 20.0, 10), timeout=30)
        next_poll = await asyncio.wait_for(storage.next_poll_time(), timeout=30)
        assert not write.done(), "the reads waited for the write to give up"
        assert [f.url for f in due] == [feed.url]
        assert next_poll == 20.0, "the feed is leased until then"
        other.execute("COMMIT")
        added, created = await asyncio.wait_for(write, timeout=30)
        assert created and added.url == "https://b.example/rss"
    finally:
        other.close()
        await storage.close()


async def test_outbox_is_unique_per_story_and_user(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    storage = await SqliteStorage.open(path)
    try:
        await storage.register_chat(private(ANN), now=T0)
        db = Db(storage, SqlitePeek(path))
        feed = await add_feed(db)
        await save(db, feed, candidate(feed, "Ukraine talks"))
        story_id = db.outbox()[0]["story_id"]
        with (
            contextlib.closing(sqlite3.connect(path)) as raw,
            pytest.raises(sqlite3.IntegrityError),
        ):
            raw.execute(
                "INSERT INTO outbox (kind, story_id, chat_id, created_at) "
                "VALUES ('alert', ?, ?, ?)",
                (story_id, ANN, T0),
            )
    finally:
        await storage.close()


async def test_the_outbox_indexes_its_pending_rows_for_the_worker(tmp_path: Path) -> None:
    # Only pending rows are indexed by status (a row sent leaves the index: one write, not
    # two, per row the worker records): the worker's lookups must still go through it.
    path = tmp_path / "db.sqlite3"
    storage = await SqliteStorage.open(path)
    try:
        await storage.register_chat(private(ANN), now=T0)
        db = Db(storage, SqlitePeek(path))
        feed = await add_feed(db)
        await save(db, feed, candidate(feed, "Ukraine talks"))
        await save(db, feed, candidate(feed, "Ukraine votes"))
        [sent, pending] = [row.id for row in await storage.pending_outbox()]
        await storage.record_deliveries([Delivery(sent, ANN, "sent", 1)], now=T0)
        assert [row.id for row in await storage.pending_outbox()] == [pending]
    finally:
        await storage.close()
    with contextlib.closing(sqlite3.connect(path)) as raw:
        partial = {row[1] for row in raw.execute("PRAGMA index_list(outbox)") if row[4]}
        assert partial == {"outbox_pending", "outbox_by_broadcast"}
        for query, index in (
            ("SELECT id FROM outbox WHERE status = 'pending' AND id > 0", "outbox_pending"),
            ("SELECT count(*) FROM outbox WHERE status = 'pending'", "outbox_pending"),
            ("SELECT status FROM outbox WHERE broadcast_id = 1", "outbox_by_broadcast"),
        ):
            plan = " ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {query}"))
            assert f"INDEX {index}" in plan, plan


class StaleReader(SqliteStorage):
    """A reader that saw every story as stored already (as if one was pruned meanwhile)."""

    async def _known_keys_now(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        return set(keys)


@pytest.mark.parametrize("backend", [SqliteStorage, StaleReader], ids=["fresh", "stale reader"])
async def test_matching_runs_outside_the_write_transaction_unless_the_reader_was_stale(
    tmp_path: Path, backend: type[SqliteStorage]
) -> None:
    storage = await backend.open(tmp_path / "db.sqlite3")
    try:
        await storage.register_chat(private(ANN), now=T0)
        db = Db(storage, SqlitePeek(tmp_path / "db.sqlite3"))
        feed = await add_feed(db)
        writer_held: list[bool] = []

        def match(_: StoryToSave) -> tuple[str, ...]:
            writer_held.append(storage._lock.locked())
            return ("ukraine",)

        saved = await save(db, feed, candidate(feed, "Ukraine talks"), match=match)
        assert saved == SavedPoll(new_stories=1, matched=1)
        assert writer_held == [backend is StaleReader]
    finally:
        await storage.close()


OLD_VERSION = 5  # the schema before chats: users, user_id, no forum topics
GROUP, SUPERGROUP = -4001, -1_000_000_004_001
OLD_ROWS = f"""
    INSERT INTO users VALUES (7, 'ann', 'Ann', 'active', 1, 1), ({GROUP}, NULL, 'Bob', 'active',
        1, 1), ({SUPERGROUP}, NULL, 'Carol', 'active', 1, 1), (8, NULL, 'Dan', 'paused', 1, 1);
    INSERT INTO subscriptions VALUES (1, 7, 'ukraine', 'Ukraine', 1),
        (2, {GROUP}, 'ukraine', 'Ukraine', 1), (3, {SUPERGROUP}, 'nato', 'NATO', 1),
        (4, 8, 'nato', 'NATO', 1);
    INSERT INTO feeds (id, url, title, trusted, primed, added_at)
        VALUES (1, 'https://a.example/rss', 'World Desk', 1, 1, 1);
    INSERT INTO stories (id, feed_id, key, link, title, normalised_title, seen_at)
        VALUES (1, 1, 'k1', 'https://a.example/1', 'Ukraine talks', 'ukraine talks', 1),
               (2, 1, 'k2', 'https://a.example/2', 'NATO meets', 'nato meets', 1);
    INSERT INTO broadcasts (id, admin_id, text, status, recipients, created_at)
        VALUES (1, 99, 'Hello all', 'sending', 2, 1);
    INSERT INTO outbox (id, kind, story_id, broadcast_id, user_id, matched, status, created_at,
                        sent_at)
        VALUES (1, 'alert', 1, NULL, 7, '["Ukraine"]', 'sent', 1, 2),
               (2, 'alert', 1, NULL, {GROUP}, '["Ukraine"]', 'pending', 1, NULL),
               (3, 'alert', 2, NULL, {SUPERGROUP}, '["NATO"]', 'pending', 1, NULL),
               (4, 'broadcast', NULL, 1, 7, '[]', 'pending', 1, NULL),
               (5, 'broadcast', NULL, 1, {GROUP}, '[]', 'sent', 1, 2);
    PRAGMA user_version = {OLD_VERSION};
"""


def build_old_database(path: Path) -> None:
    """A file as the last Newshound before chats left it, through its own migrations."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as connection:
        for migration in MIGRATIONS[:OLD_VERSION]:
            for statement in migration.statements:
                connection.execute(statement)
        connection.executescript(OLD_ROWS)


async def test_a_database_of_users_upgrades_in_place_to_chats_and_still_delivers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    build_old_database(path)
    storage = await SqliteStorage.open(path)
    try:
        assert await storage.schema_version() == SCHEMA_VERSION
        assert await storage.integrity_check() == "ok"
        chats = [await storage.get_chat(chat_id) for chat_id in (7, GROUP, SUPERGROUP, 8)]
        assert [(c.type, c.title, c.status) for c in chats if c is not None] == [
            (ChatType.PRIVATE, "Ann", ChatStatus.ACTIVE),
            (ChatType.GROUP, None, ChatStatus.ACTIVE),
            (ChatType.SUPERGROUP, None, ChatStatus.ACTIVE),
            (ChatType.PRIVATE, "Dan", ChatStatus.PAUSED),
        ], "types backfilled from the id, once; a group's old first_name named a person"
        assert await storage.all_subscriptions() == [
            Subscription(1, 7, "ukraine", "Ukraine"),
            Subscription(2, GROUP, "ukraine", "Ukraine"),
            Subscription(3, SUPERGROUP, "nato", "NATO"),
            Subscription(4, 8, "nato", "NATO"),
        ]
        assert SqlitePeek(path).story_titles() == ["Ukraine talks", "NATO meets"]
        assert [(r.id, r.chat_id, r.kind, r.chat_type) for r in await storage.pending_outbox()] == [
            (2, GROUP, "alert", ChatType.GROUP),
            (3, SUPERGROUP, "alert", ChatType.SUPERGROUP),
            (4, 7, "broadcast", ChatType.PRIVATE),
        ]
        broadcast = await storage.get_broadcast(1)
        assert broadcast is not None
        assert (broadcast.status, broadcast.recipients) == (BroadcastStatus.SENDING, 2)

        async with BotApiFake() as fake, make_bot(fake) as bot:
            async with running(DeliveryWorker(bot, storage, lambda _: {})):
                await eventually(lambda: all(fake.sent(c) for c in (7, GROUP, SUPERGROUP)))
            assert await storage.outbox_counts() == {"sent": 5}
        assert fake.sent(7)[0].plain_text == "Hello all"
        assert fake.sent(GROUP)[0].plain_text.startswith("Ukraine talks")
        assert fake.sent(SUPERGROUP)[0].plain_text.startswith("NATO meets")
        assert await storage.broadcast_progress(1) == {"sent": 2}
    finally:
        await storage.close()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
