"""Tests of the storage module on a real SQLite file: schema, migrations, queries."""

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.storage import StorageError, UserStatus
from bot.storage.sqlite import SCHEMA_VERSION, SqliteStorage


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


async def test_users_and_statuses(tmp_path: Path) -> None:
    storage = await SqliteStorage.open(tmp_path / "db.sqlite3")
    try:
        assert await storage.get_user(1) is None
        await storage.register_user(1, "ann", "Ann", now=1.0)
        assert await storage.set_user_status(1, UserStatus.PAUSED, now=2.0)
        user = await storage.get_user(1)
        assert user is not None
        assert user.status is UserStatus.PAUSED
        await storage.register_user(1, "ann2", "Ann", now=3.0)
        user = await storage.get_user(1)
        assert user is not None
        assert (user.status, user.username) == (UserStatus.ACTIVE, "ann2")
        assert not await storage.set_user_status(99, UserStatus.PAUSED, now=4.0)
    finally:
        await storage.close()


async def test_subscriptions_unique_per_user_and_limited(tmp_path: Path) -> None:
    storage = await SqliteStorage.open(tmp_path / "db.sqlite3")
    try:
        await storage.register_user(1, None, None, now=1.0)
        await storage.register_user(2, None, None, now=1.0)
        first = await storage.add_subscriptions(
            1, [("ukraine", "Ukraine"), ("nato", "NATO")], limit=3, now=1.0
        )
        assert [s.display for s in first.added] == ["Ukraine", "NATO"]
        second = await storage.add_subscriptions(
            1, [("ukraine", "ukraine"), ("xi", "Xi"), ("kyiv", "Kyiv")], limit=3, now=2.0
        )
        assert [s.display for s in second.added] == ["Xi"]
        assert second.existing == ("ukraine",)
        assert second.over_limit == ("Kyiv",)
        other = await storage.add_subscriptions(2, [("ukraine", "UKRAINE")], limit=3, now=2.0)
        assert [s.display for s in other.added] == ["UKRAINE"]
        assert [s.display for s in await storage.list_subscriptions(1)] == ["Ukraine", "NATO", "Xi"]
    finally:
        await storage.close()


async def test_removal_only_touches_the_owner(tmp_path: Path) -> None:
    storage = await SqliteStorage.open(tmp_path / "db.sqlite3")
    try:
        for user_id in (1, 2):
            await storage.register_user(user_id, None, None, now=1.0)
        mine = await storage.add_subscriptions(1, [("ukraine", "Ukraine")], limit=5, now=1.0)
        await storage.add_subscriptions(2, [("nato", "NATO"), ("xi", "Xi")], limit=5, now=1.0)
        assert await storage.remove_subscription_by_id(2, mine.added[0].id) is None
        assert [s.display for s in await storage.list_subscriptions(1)] == ["Ukraine"]
        removed = await storage.remove_subscription(1, "ukraine")
        assert removed is not None
        assert removed.display == "Ukraine"
        assert await storage.remove_subscription(1, "ukraine") is None
        assert len(await storage.remove_all_subscriptions(2)) == 2
        assert await storage.all_subscriptions() == []
    finally:
        await storage.close()


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
        due = await asyncio.wait_for(storage.due_feeds(now=10.0), timeout=30)
        next_poll = await asyncio.wait_for(storage.next_poll_time(), timeout=30)
        assert not write.done(), "the reads waited for the write to give up"
        assert [f.url for f in due] == [feed.url]
        assert next_poll == 0.0
        other.execute("COMMIT")
        added, created = await asyncio.wait_for(write, timeout=30)
        assert created and added.url == "https://b.example/rss"
    finally:
        other.close()
        await storage.close()
