"""The only module with SQL: schema, migrations and every query Newshound runs."""

import asyncio
import contextlib
import functools
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import aiosqlite

from bot.delivery.burst import BURST_WINDOW_SECONDS, plan_alerts
from bot.storage_faults import is_unavailable
from bot.stories import CROSS_FEED_DEDUP_WINDOW, Story

log = logging.getLogger(__name__)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _serialized(
    method: Callable[Concatenate["Storage", _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate["Storage", _P], Coroutine[Any, Any, _R]]:
    """Make a Storage method wait for the connection to be free (see Storage._lock)."""

    async def wrapper(storage: "Storage", /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with storage._lock:
            try:
                return await method(storage, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if not is_unavailable(error):
                    raise  # a bug ("no such column"): retrying cannot help; callers log it
                # Disk full, read-only file system, I/O error, a lock held too long: the
                # caller can wait and retry; nothing was written.
                raise StorageUnavailable(f"the database cannot be written: {error}") from error

    functools.update_wrapper(wrapper, method)
    return wrapper


def _reading(
    method: Callable[Concatenate["Storage", aiosqlite.Connection, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate["Storage", _P], Coroutine[Any, Any, _R]]:
    """Run a read-only Storage method on the reader connection (see Storage._reader)."""

    async def wrapper(storage: "Storage", /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        reader = storage._reader or storage._db
        lock = storage._read_lock if storage._reader else storage._lock
        async with lock:
            try:
                return await method(storage, reader, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if not is_unavailable(error):
                    raise
                raise StorageUnavailable(f"the database cannot be read: {error}") from error

    functools.update_wrapper(wrapper, method)
    return wrapper


class StorageError(Exception):
    """The database cannot be used; the message says why and what to do."""


class StorageUnavailable(StorageError):
    """A database operation failed for a reason that may pass (disk full, read-only, I/O)."""


class UserStatus(StrEnum):
    """Whether a subscriber gets alerts."""

    ACTIVE = "active"
    PAUSED = "paused"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Migration:
    """One forward-only schema step, applied in the transaction that records it."""

    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "users and subscriptions",
        (
            """CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                username TEXT,
                first_name TEXT,
                status TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'paused', 'blocked')),
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
            """CREATE TABLE subscriptions (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                query TEXT NOT NULL,
                display TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (user_id, query)
            )""",
        ),
    ),
    Migration(
        "feeds, stories and the outbox",
        (
            """CREATE TABLE feeds (
                id INTEGER PRIMARY KEY,
                url TEXT NOT NULL UNIQUE,
                title TEXT NOT NULL DEFAULT '',
                trusted INTEGER NOT NULL DEFAULT 0,
                primed INTEGER NOT NULL DEFAULT 0,
                etag TEXT,
                last_modified TEXT,
                added_at REAL NOT NULL,
                next_poll_at REAL NOT NULL DEFAULT 0,
                last_polled_at REAL,
                last_ok_at REAL,
                failures INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                entries_seen INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE stories (
                id INTEGER PRIMARY KEY,
                feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
                key TEXT NOT NULL,
                link TEXT,
                canonical_link TEXT,
                title TEXT NOT NULL,
                normalised_title TEXT NOT NULL,
                summary TEXT,
                published_at REAL,
                seen_at REAL NOT NULL,
                duplicate_of INTEGER REFERENCES stories(id),
                UNIQUE (feed_id, key)
            )""",
            "CREATE INDEX stories_by_link ON stories (canonical_link)",
            "CREATE INDEX stories_by_title ON stories (normalised_title, seen_at)",
            "CREATE INDEX stories_by_seen ON stories (seen_at)",
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'broadcast')),
                story_id INTEGER REFERENCES stories(id),
                broadcast_id INTEGER,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE ON UPDATE CASCADE,
                matched TEXT NOT NULL DEFAULT '[]',
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'blocked', 'failed', 'dropped')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL NOT NULL DEFAULT 0,
                error TEXT,
                created_at REAL NOT NULL,
                sent_at REAL,
                UNIQUE (story_id, user_id),
                UNIQUE (broadcast_id, user_id)
            )""",
            "CREATE INDEX outbox_pending ON outbox (status, id)",
            "CREATE INDEX outbox_sent ON outbox (sent_at)",
        ),
    ),
    Migration(
        "admin broadcasts",
        (
            """CREATE TABLE broadcasts (
                id INTEGER PRIMARY KEY,
                admin_id INTEGER NOT NULL,
                text TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'cancelled', 'sending', 'done')),
                recipients INTEGER NOT NULL DEFAULT 0,
                status_chat_id INTEGER,
                status_message_id INTEGER,
                created_at REAL NOT NULL,
                confirmed_at REAL,
                finished_at REAL
            )""",
            "CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status)",
        ),
    ),
    Migration(
        "retention: find a story's copies",
        # Deleting a story makes SQLite look for stories naming it in duplicate_of (a foreign
        # key); without an index each delete scans the whole table.
        (
            """CREATE INDEX stories_by_duplicate ON stories (duplicate_of)
               WHERE duplicate_of IS NOT NULL""",
        ),
    ),
    Migration(
        # The burst rule counts each chat's recent alerts on every poll that matches them.
        "outbox by chat and time",
        ("CREATE INDEX outbox_by_user ON outbox (user_id, created_at)",),
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class User:
    """A subscriber: a Telegram chat that talks to the bot."""

    id: int
    username: str | None
    first_name: str | None
    status: UserStatus


@dataclass(frozen=True)
class Subscription:
    """One stored query of one user."""

    id: int
    user_id: int
    query: str
    display: str


@dataclass(frozen=True)
class AddedSubscriptions:
    """What happened to each query asked for in one /subscribe."""

    added: tuple[Subscription, ...]
    existing: tuple[str, ...]
    over_limit: tuple[str, ...]


@dataclass(frozen=True)
class Feed:
    """A watched feed and its polling state."""

    id: int
    url: str
    title: str
    trusted: bool
    primed: bool
    etag: str | None
    last_modified: str | None
    next_poll_at: float
    last_polled_at: float | None
    last_ok_at: float | None
    failures: int
    last_error: str | None
    entries_seen: int


@dataclass(frozen=True)
class StoryToSave:
    """A story from a poll, the words it is matched on, and whether it may alert anyone."""

    story: Story
    words: tuple[str, ...]
    alertable: bool


StoryMatcher = Callable[[StoryToSave], Mapping[int, tuple[str, ...]]]


@dataclass(frozen=True)
class PollToSave:
    """Everything one successful poll of a feed writes."""

    feed_id: int
    url: str
    title: str
    etag: str | None
    last_modified: str | None
    next_poll_at: float
    now: float
    alerts_enabled: bool
    stories: tuple[StoryToSave, ...]
    warning: str | None = None
    title_dedup_seconds: float = CROSS_FEED_DEDUP_WINDOW.total_seconds()
    # Alerts one user gets within the burst window (bot.delivery.burst) before the rest are
    # combined into a digest.
    burst_limit: int = 10


@dataclass(frozen=True)
class SavedPoll:
    """What a saved poll added."""

    new_stories: int
    alerts: int
    # The feed was removed while it was being polled: nothing was written.
    feed_removed: bool = False


@dataclass(frozen=True)
class PendingRow:
    """An outbox row waiting to be sent, as the delivery worker queues it."""

    id: int
    user_id: int
    kind: str
    next_attempt_at: float


@dataclass(frozen=True)
class OutboxItem:
    """An outbox row with what is needed to format and send it."""

    id: int
    kind: str
    user_id: int
    user_status: UserStatus
    matched: tuple[str, ...]
    attempts: int
    status: str
    title: str
    link: str | None
    summary: str | None
    published: datetime | None
    source: str
    broadcast_id: int | None
    text: str | None = None


@dataclass(frozen=True)
class Delivery:
    """The outcome of one send attempt, to record."""

    outbox_id: int
    user_id: int
    status: str
    attempts: int
    next_attempt_at: float = 0.0
    error: str | None = None
    user_blocked: bool = False
    # The chat became a supergroup with this id; the row is retried there.
    migrated_to: int | None = None


class BroadcastStatus(StrEnum):
    """Where an admin broadcast is in its life."""

    DRAFT = "draft"
    CANCELLED = "cancelled"
    SENDING = "sending"
    DONE = "done"


@dataclass(frozen=True)
class Broadcast:
    """An admin's announcement to every active subscriber."""

    id: int
    admin_id: int
    text: str
    status: BroadcastStatus
    recipients: int
    status_chat_id: int | None
    status_message_id: int | None


@dataclass(frozen=True)
class PrunedPage:
    """What one pruning batch deleted, and where the next batch starts (None: done)."""

    deleted: int
    resume_after: tuple[float, int] | None


AUTO_VACUUM_INCREMENTAL = 2


@dataclass(frozen=True)
class Stats:
    """The bot's health figures for /stats."""

    users: dict[str, int]
    subscriptions: int
    top_queries: list[tuple[str, int]]
    feeds: int
    failing_feeds: int
    stories_24h: int
    alerts_24h: int
    pending: int
    oldest_pending_at: float | None
    database_bytes: int = 0
    free_bytes: int = 0


class Storage:
    """One long-lived aiosqlite connection and the queries run on it."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        # Handlers, the poller and the delivery worker share this one connection: a
        # transaction spans several awaits, and another task's statement in between would
        # join it (or fail on a nested BEGIN). One task at a time uses the connection.
        self._lock = asyncio.Lock()
        # Reads a user waits for (/list, /start...) go through their own connection: in WAL
        # mode they see every committed write without queueing behind a poll's transaction.
        self._reader: aiosqlite.Connection | None = None
        self._read_lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Run the body as one write transaction; the caller holds the lock."""
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            # Inside the try: a COMMIT can fail too (full disk, I/O error, a deferred
            # constraint), and SQLite may then keep the transaction open; left open, it
            # would make every later BEGIN fail and swallow every later write.
            await self._db.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise

    async def _rollback(self) -> None:
        """End a failed transaction, unless SQLite already did (it may, on SQLITE_FULL)."""
        if not self._db.in_transaction:
            return
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            # The error that made us roll back is what the caller must see; this one is
            # logged so that it is not lost.
            log.exception("Could not roll back a failed transaction")

    @classmethod
    async def open(cls, path: Path) -> Self:
        """Open (creating if needed) and migrate the database at path."""
        prepare_database_file(path)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StorageError(f"DATABASE_PATH {path} cannot be opened: {error}") from None
        storage = cls(connection)
        try:
            await storage._configure()
            await storage._use_incremental_vacuum()
            await storage._migrate()
            await storage._open_reader(path)
        except BaseException:
            await storage.close()
            raise
        return storage

    async def _open_reader(self, path: Path) -> None:
        reader = await aiosqlite.connect(path, isolation_level=None)
        await reader.execute("PRAGMA query_only=ON")
        await reader.execute("PRAGMA busy_timeout=5000")
        self._reader = reader

    async def close(self) -> None:
        """Close the connections (and their threads)."""
        if self._reader is not None:
            await self._reader.close()
        await self._db.close()

    async def _configure(self) -> None:
        try:
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._db.execute("PRAGMA busy_timeout=5000")
        except sqlite3.DatabaseError as error:
            raise StorageError(f"DATABASE_PATH is not a usable SQLite database: {error}") from None

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the database has schema version {version}, newer than this Newshound "
                f"understands ({SCHEMA_VERSION}): upgrade Newshound or use another DATABASE_PATH"
            )
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("Applying database migration %d: %s", number, migration.name)
            async with self._transaction():
                for statement in migration.statements:
                    await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {number}")

    @_serialized
    async def schema_version(self) -> int:
        """Return PRAGMA user_version."""
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @_serialized
    async def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict ("ok" when healthy)."""
        async with self._db.execute("PRAGMA integrity_check") as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else "no answer"

    # Users

    @_serialized
    async def register_user(
        self, user_id: int, username: str | None, first_name: str | None, now: float
    ) -> User:
        """Create or refresh a user and make them active again."""
        await self._db.execute(
            """INSERT INTO users (id, username, first_name, status, created_at, updated_at)
               VALUES (?, ?, ?, 'active', ?, ?)
               ON CONFLICT (id) DO UPDATE SET username = excluded.username,
                   first_name = excluded.first_name, status = 'active',
                   updated_at = excluded.updated_at""",
            (user_id, username, first_name, now, now),
        )
        return User(user_id, username, first_name, UserStatus.ACTIVE)

    @_reading
    async def get_user(self, db: aiosqlite.Connection, user_id: int) -> User | None:
        """Return the user, or None if they never started the bot."""
        async with db.execute(
            "SELECT id, username, first_name, status FROM users WHERE id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return User(int(row[0]), row[1], row[2], UserStatus(row[3]))

    @_serialized
    async def set_user_status(self, user_id: int, status: UserStatus, now: float) -> bool:
        """Set a user's status; return False when the user is unknown."""
        cursor = await self._db.execute(
            "UPDATE users SET status = ?, updated_at = ? WHERE id = ?",
            (status.value, now, user_id),
        )
        return cursor.rowcount > 0

    @_serialized
    async def change_user_status(
        self, user_id: int, status: UserStatus, now: float, *, only_from: Sequence[UserStatus]
    ) -> bool:
        """Set a user's status if it is now one of only_from; return whether it changed."""
        cursor = await self._db.execute(
            f"UPDATE users SET status = ?, updated_at = ? WHERE id = ? AND status IN "
            f"({_marks(only_from)})",
            (status.value, now, user_id, *(each.value for each in only_from)),
        )
        return cursor.rowcount > 0

    @_serialized
    async def migrate_chat(
        self, old_chat_id: int, new_chat_id: int, now: float
    ) -> list[Subscription]:
        """Move a group that became a supergroup to its new id; return its subscriptions."""
        async with self._transaction():
            await self._db.execute(
                """INSERT INTO users (id, username, first_name, status, created_at, updated_at)
                   SELECT ?, username, first_name, status, created_at, ? FROM users WHERE id = ?
                   ON CONFLICT (id) DO NOTHING""",
                (new_chat_id, now, old_chat_id),
            )
            await self._db.execute(
                "UPDATE OR IGNORE subscriptions SET user_id = ? WHERE user_id = ?",
                (new_chat_id, old_chat_id),
            )
            await self._db.execute(
                "UPDATE OR IGNORE outbox SET user_id = ? WHERE user_id = ?",
                (new_chat_id, old_chat_id),
            )
            await self._db.execute("DELETE FROM users WHERE id = ?", (old_chat_id,))
            async with self._db.execute(
                "SELECT id, user_id, query, display FROM subscriptions WHERE user_id = ?",
                (new_chat_id,),
            ) as cursor:
                rows = await cursor.fetchall()
        return [_subscription(row) for row in rows]

    # Subscriptions

    @_serialized
    async def add_subscriptions(
        self, user_id: int, queries: Sequence[tuple[str, str]], limit: int, now: float
    ) -> AddedSubscriptions:
        """Store (normalised, display) queries up to the user's limit, in one transaction."""
        added: list[Subscription] = []
        existing: list[str] = []
        over_limit: list[str] = []
        async with self._transaction():
            count = await self._count_subscriptions(user_id)
            for normalised, display in queries:
                if await self._find_subscription(user_id, normalised) is not None:
                    existing.append(display)
                elif count >= limit:
                    over_limit.append(display)
                else:
                    cursor = await self._db.execute(
                        """INSERT INTO subscriptions (user_id, query, display, created_at)
                           VALUES (?, ?, ?, ?)""",
                        (user_id, normalised, display, now),
                    )
                    assert cursor.lastrowid is not None
                    added.append(Subscription(cursor.lastrowid, user_id, normalised, display))
                    count += 1
        return AddedSubscriptions(tuple(added), tuple(existing), tuple(over_limit))

    async def _count_subscriptions(self, user_id: int) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM subscriptions WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _find_subscription(self, user_id: int, normalised: str) -> Subscription | None:
        async with self._db.execute(
            """SELECT id, user_id, query, display FROM subscriptions
               WHERE user_id = ? AND query = ?""",
            (user_id, normalised),
        ) as cursor:
            row = await cursor.fetchone()
        return _subscription(row) if row else None

    @_reading
    async def list_subscriptions(
        self, db: aiosqlite.Connection, user_id: int
    ) -> list[Subscription]:
        """Return the user's subscriptions, oldest first."""
        async with db.execute(
            """SELECT id, user_id, query, display FROM subscriptions
               WHERE user_id = ? ORDER BY id""",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_subscription(row) for row in rows]

    @_serialized
    async def remove_subscription(self, user_id: int, normalised: str) -> Subscription | None:
        """Delete the user's subscription with this normalised query; return it if it existed."""
        return await self._delete_one(
            "DELETE FROM subscriptions WHERE user_id = ? AND query = ? "
            "RETURNING id, user_id, query, display",
            (user_id, normalised),
        )

    @_serialized
    async def remove_subscription_by_id(
        self, user_id: int, subscription_id: int
    ) -> Subscription | None:
        """Delete one of the user's subscriptions by id; someone else's id deletes nothing."""
        return await self._delete_one(
            "DELETE FROM subscriptions WHERE user_id = ? AND id = ? "
            "RETURNING id, user_id, query, display",
            (user_id, subscription_id),
        )

    async def _delete_one(self, sql: str, params: tuple[int | str, ...]) -> Subscription | None:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return _subscription(row) if row else None

    @_serialized
    async def remove_all_subscriptions(self, user_id: int) -> list[Subscription]:
        """Delete every subscription of the user; return what was deleted."""
        async with self._db.execute(
            "DELETE FROM subscriptions WHERE user_id = ? RETURNING id, user_id, query, display",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_subscription(row) for row in rows]

    @_serialized
    async def subscription_page(self, after_id: int, limit: int) -> list[tuple[int, int, str, str]]:
        """Return (id, user, query, display) of up to limit subscriptions after after_id.

        Plain tuples, a page at a time: loading 500,000 subscriptions at start must not
        hold them all as objects at once.
        """
        async with self._db.execute(
            """SELECT id, user_id, query, display FROM subscriptions WHERE id > ?
               ORDER BY id LIMIT ?""",
            (after_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    @_serialized
    async def all_subscriptions(self) -> list[Subscription]:
        """Return every subscription of every user (to build the matching index)."""
        async with self._db.execute(
            "SELECT id, user_id, query, display FROM subscriptions ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [_subscription(row) for row in rows]

    # Feeds

    @_serialized
    async def add_feed(
        self, url: str, now: float, *, trusted: bool, title: str = ""
    ) -> tuple[Feed, bool]:
        """Add a feed unless its URL is known; return it and whether it was new."""
        cursor = await self._db.execute(
            """INSERT INTO feeds (url, title, trusted, added_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (url) DO NOTHING""",
            (url, title, int(trusted), now),
        )
        created = cursor.rowcount > 0
        feed = await self._feed_by_url(url)
        assert feed is not None
        return feed, created

    @_serialized
    async def get_feed_by_url(self, url: str) -> Feed | None:
        """Return the feed with this URL, if any."""
        return await self._feed_by_url(url)

    async def _feed_by_url(self, url: str) -> Feed | None:
        async with self._db.execute(f"{_FEED_SELECT} WHERE url = ?", (url,)) as cursor:
            row = await cursor.fetchone()
        return _feed(row) if row else None

    @_reading
    async def list_feeds(self, db: aiosqlite.Connection) -> list[Feed]:
        """Return every feed in the order they were added."""
        async with db.execute(f"{_FEED_SELECT} ORDER BY id") as cursor:
            rows = await cursor.fetchall()
        return [_feed(row) for row in rows]

    @_serialized
    async def remove_feed(self, feed_id: int) -> bool:
        """Delete a feed; its stories stay (unlinked) so they still deduplicate."""
        cursor = await self._db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return cursor.rowcount > 0

    # The scheduler asks these two every second: on the reader connection they never wait
    # behind a long write transaction (a big poll's save), so polls start on time.
    @_reading
    async def due_feeds(self, db: aiosqlite.Connection, now: float) -> list[Feed]:
        """Return feeds whose next poll time has come, most overdue first."""
        async with db.execute(
            f"{_FEED_SELECT} WHERE next_poll_at <= ? ORDER BY next_poll_at", (now,)
        ) as cursor:
            rows = await cursor.fetchall()
        return [_feed(row) for row in rows]

    @_reading
    async def next_poll_time(self, db: aiosqlite.Connection) -> float | None:
        """Return the earliest next poll time of any feed."""
        async with db.execute("SELECT min(next_poll_at) FROM feeds") as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    @_serialized
    async def record_poll_failure(
        self, feed_id: int, error: str, next_poll_at: float, now: float
    ) -> None:
        """Count one more consecutive failure and keep its reason."""
        await self._db.execute(
            """UPDATE feeds SET failures = failures + 1, last_error = ?, next_poll_at = ?,
                   last_polled_at = ? WHERE id = ?""",
            (error, next_poll_at, now, feed_id),
        )

    @_serialized
    async def record_not_modified(self, feed_id: int, next_poll_at: float, now: float) -> None:
        """Note a successful poll that found the feed unchanged (HTTP 304)."""
        await self._db.execute(
            """UPDATE feeds SET failures = 0, last_error = NULL, next_poll_at = ?,
                   last_polled_at = ?, last_ok_at = ? WHERE id = ?""",
            (next_poll_at, now, now, feed_id),
        )

    @_serialized
    async def save_poll(self, poll: PollToSave, match: StoryMatcher) -> SavedPoll:
        """Store a poll's stories and their outbox rows in one transaction.

        Only stories new to the feed and not already known from another feed (same canonical
        link, or same title within the dedup window) are matched; `match` gives the users to
        alert for each, and only active users get an outbox row.
        """
        async with self._transaction():
            if not await self._feed_exists(poll.feed_id):
                return SavedPoll(new_stories=0, alerts=0, feed_removed=True)
            fresh = await self._unseen(poll)
            originals = await self._insert_stories(poll, fresh)
            alerts = 0
            if poll.alerts_enabled:
                alerts = await self._queue_alerts(
                    [(story_id, match(c)) for story_id, c in originals if c.alertable], poll
                )
            await self._db.execute(
                """UPDATE feeds SET url = ?, title = ?, etag = ?, last_modified = ?,
                       next_poll_at = ?, last_polled_at = ?, last_ok_at = ?, failures = 0,
                       last_error = ?, primed = 1, entries_seen = entries_seen + ?
                   WHERE id = ?""",
                (
                    poll.url,
                    poll.title,
                    poll.etag,
                    poll.last_modified,
                    poll.next_poll_at,
                    poll.now,
                    poll.now,
                    poll.warning,
                    len(fresh),
                    poll.feed_id,
                ),
            )
        return SavedPoll(new_stories=len(fresh), alerts=alerts)

    async def _feed_exists(self, feed_id: int) -> bool:
        async with self._db.execute("SELECT 1 FROM feeds WHERE id = ?", (feed_id,)) as cursor:
            return await cursor.fetchone() is not None

    async def _unseen(self, poll: PollToSave) -> list[StoryToSave]:
        """Return the poll's stories this feed has not stored yet, in feed order."""
        known: set[str] = set()
        keys = [candidate.story.key for candidate in poll.stories]
        for chunk in _chunks(keys):
            async with self._db.execute(
                f"SELECT key FROM stories WHERE feed_id = ? AND key IN ({_marks(chunk)})",
                (poll.feed_id, *chunk),
            ) as cursor:
                known.update(str(row[0]) for row in await cursor.fetchall())
        return [c for c in poll.stories if c.story.key not in known]

    async def _insert_stories(
        self, poll: PollToSave, fresh: list[StoryToSave]
    ) -> list[tuple[int, StoryToSave]]:
        """Insert new stories; return (id, story) of those not already known from elsewhere.

        A story is a copy when an earlier one (any feed, or earlier in this poll) has the same
        canonical link, or the same normalised title within the dedup window.
        """
        links = {c.story.canonical_link for c in fresh if c.story.canonical_link}
        titles = {c.story.normalised_title for c in fresh if c.story.normalised_title}
        by_link = await self._first_ids("canonical_link", links, since=None)
        since = poll.now - poll.title_dedup_seconds
        by_title = await self._first_ids("normalised_title", titles, since=since)
        copy_of = [_earlier_copy(c.story, by_link, by_title) for c in fresh]
        copied_in_poll = _copies_within(fresh, copy_of)
        await self._db.executemany(
            """INSERT INTO stories (feed_id, key, link, canonical_link, title, normalised_title,
                   summary, published_at, seen_at, duplicate_of)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (feed_id, key) DO NOTHING""",
            [
                _story_row(poll, c.story, original)
                for c, original in zip(fresh, copy_of, strict=True)
            ],
        )
        ids = await self._story_ids(poll.feed_id, [c.story.key for c in fresh])
        if copied_in_poll:
            await self._db.executemany(
                "UPDATE stories SET duplicate_of = ? WHERE id = ?",
                [(ids[original], ids[copy]) for copy, original in copied_in_poll],
            )
        copies = {copy for copy, _ in copied_in_poll}
        return [
            (ids[c.story.key], c)
            for c, original in zip(fresh, copy_of, strict=True)
            if original is None and c.story.key not in copies
        ]

    async def _first_ids(
        self, column: str, values: set[str], since: float | None
    ) -> dict[str, int]:
        """Return, per value, the id of the earliest story with that value in column."""
        first: dict[str, int] = {}
        window = "" if since is None else " AND seen_at >= ?"
        for chunk in _chunks(sorted(values)):
            async with self._db.execute(
                f"""SELECT {column}, min(id) FROM stories
                    WHERE {column} IN ({_marks(chunk)}){window} GROUP BY {column}""",
                (*chunk, *([] if since is None else [since])),
            ) as cursor:
                first.update((str(row[0]), int(row[1])) for row in await cursor.fetchall())
        return first

    async def _story_ids(self, feed_id: int, keys: list[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for chunk in _chunks(keys):
            async with self._db.execute(
                f"SELECT key, id FROM stories WHERE feed_id = ? AND key IN ({_marks(chunk)})",
                (feed_id, *chunk),
            ) as cursor:
                ids.update((str(row[0]), int(row[1])) for row in await cursor.fetchall())
        return ids

    async def _queue_alerts(
        self, matches: list[tuple[int, Mapping[int, tuple[str, ...]]]], poll: PollToSave
    ) -> int:
        """Queue one row per (story, matching active user), alert or digest line as
        bot.delivery.burst decides from the alerts each user had in the last burst window."""
        users = sorted({user_id for _, matched in matches for user_id in matched})
        recent = await self._recent_alerts(users, since=poll.now - BURST_WINDOW_SECONDS)
        rows = [
            (q.lane.value, q.story_id, json.dumps(q.matched), poll.now, q.chat_id)
            for q in plan_alerts(matches, recent, poll.burst_limit)
        ]
        if not rows:
            return 0
        before = self._db.total_changes
        await self._db.executemany(
            """INSERT INTO outbox (kind, story_id, user_id, matched, created_at)
               SELECT ?, ?, id, ?, ? FROM users WHERE id = ? AND status = 'active'
               ON CONFLICT DO NOTHING""",
            rows,
        )
        return self._db.total_changes - before

    async def _recent_alerts(self, users: Sequence[int], since: float) -> dict[int, int]:
        """Return how many alerts were queued to each of these users since then."""
        counts: dict[int, int] = {}
        for start in range(0, len(users), IN_CHUNK):
            chunk = users[start : start + IN_CHUNK]
            async with self._db.execute(
                f"""SELECT user_id, count(*) FROM outbox WHERE user_id IN ({_marks(chunk)})
                    AND kind = 'alert' AND created_at >= ? GROUP BY user_id""",
                (*chunk, since),
            ) as cursor:
                counts.update((int(row[0]), int(row[1])) for row in await cursor.fetchall())
        return counts

    # Outbox

    @_serialized
    async def pending_outbox(self, after_id: int = 0) -> list[PendingRow]:
        """Return (id, user, lane) of pending rows with id > after_id, oldest first."""
        async with self._db.execute(
            """SELECT id, user_id, kind, next_attempt_at FROM outbox
               WHERE status = 'pending' AND id > ? ORDER BY id""",
            (after_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [PendingRow(int(r[0]), int(r[1]), str(r[2]), float(r[3])) for r in rows]

    @_serialized
    async def load_outbox(self, ids: Sequence[int]) -> list[OutboxItem]:
        """Return what is needed to send each of these outbox rows."""
        return await self._load_outbox(ids)

    async def _load_outbox(self, ids: Sequence[int]) -> list[OutboxItem]:
        if not ids:
            return []
        placeholders = ",".join("?" * len(ids))
        async with self._db.execute(
            f"""SELECT o.id, o.kind, o.user_id, u.status, o.matched, o.attempts, o.status,
                    s.title, s.link, s.summary, s.published_at, coalesce(f.title, ''),
                    o.broadcast_id, b.text
                FROM outbox o JOIN users u ON u.id = o.user_id
                LEFT JOIN stories s ON s.id = o.story_id
                LEFT JOIN feeds f ON f.id = s.feed_id
                LEFT JOIN broadcasts b ON b.id = o.broadcast_id
                WHERE o.id IN ({placeholders}) ORDER BY o.id""",
            tuple(ids),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_outbox_item(row) for row in rows]

    @_serialized
    async def pending_digest(self, user_id: int) -> list[OutboxItem]:
        """Return every pending digest row of a user, oldest first."""
        async with self._db.execute(
            "SELECT id FROM outbox WHERE user_id = ? AND kind = 'digest' AND status = 'pending'",
            (user_id,),
        ) as cursor:
            ids = [int(row[0]) for row in await cursor.fetchall()]
        return await self._load_outbox(ids)

    @_serialized
    async def record_deliveries(self, outcomes: Sequence[Delivery], now: float) -> None:
        """Write the outcome of a batch of sends in one transaction."""
        if not outcomes:
            return
        async with self._transaction():
            await self._db.executemany(
                """UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, error = ?,
                       sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                   WHERE id = ?""",
                [
                    (o.status, o.attempts, o.next_attempt_at, o.error, o.status, now, o.outbox_id)
                    for o in outcomes
                ],
            )
            blocked = {o.user_id for o in outcomes if o.user_blocked}
            for user_id in blocked:
                await self._block_user(user_id, now)

    async def _block_user(self, user_id: int, now: float) -> None:
        await self._db.execute(
            "UPDATE users SET status = 'blocked', updated_at = ? WHERE id = ?", (now, user_id)
        )
        await self._db.execute(
            """UPDATE outbox SET status = 'blocked', error = 'user blocked the bot'
               WHERE user_id = ? AND status = 'pending'""",
            (user_id,),
        )

    @_serialized
    async def drop_pending_for_user(self, user_id: int, reason: str) -> int:
        """Drop a user's pending rows (they paused); return how many."""
        cursor = await self._db.execute(
            """UPDATE outbox SET status = 'dropped', error = ?
               WHERE user_id = ? AND status = 'pending'""",
            (reason, user_id),
        )
        return cursor.rowcount

    @_serialized
    async def outbox_counts(self) -> dict[str, int]:
        """Return the number of outbox rows by status."""
        async with self._db.execute(
            "SELECT status, count(*) FROM outbox GROUP BY status"
        ) as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    # Broadcasts

    @_serialized
    async def create_broadcast(self, admin_id: int, text: str, now: float) -> Broadcast:
        """Store a draft broadcast awaiting its admin's confirmation."""
        cursor = await self._db.execute(
            "INSERT INTO broadcasts (admin_id, text, created_at) VALUES (?, ?, ?)",
            (admin_id, text, now),
        )
        assert cursor.lastrowid is not None
        return Broadcast(cursor.lastrowid, admin_id, text, BroadcastStatus.DRAFT, 0, None, None)

    @_serialized
    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        """Return the broadcast, if it exists."""
        async with self._db.execute(f"{_BROADCAST_SELECT} WHERE id = ?", (broadcast_id,)) as cursor:
            row = await cursor.fetchone()
        return _broadcast(row) if row else None

    @_serialized
    async def broadcasts_in_progress(self) -> list[Broadcast]:
        """Return confirmed broadcasts not yet reported as finished."""
        async with self._db.execute(
            f"{_BROADCAST_SELECT} WHERE status = 'sending' ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [_broadcast(row) for row in rows]

    @_reading
    async def count_active_users(self, db: aiosqlite.Connection) -> int:
        """Return how many users would receive a broadcast now."""
        async with db.execute("SELECT count(*) FROM users WHERE status = 'active'") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @_serialized
    async def confirm_broadcast(
        self,
        broadcast_id: int,
        admin_id: int,
        now: float,
        *,
        status_chat_id: int | None = None,
        status_message_id: int | None = None,
    ) -> int | None:
        """Queue a draft for every active user; None unless it was this admin's draft.

        The message that will show the progress is recorded in the same transaction: a
        crash right after confirming must still end with a report.
        """
        async with self._transaction():
            cursor = await self._db.execute(
                """UPDATE broadcasts SET status = 'sending', confirmed_at = ?,
                       status_chat_id = ?, status_message_id = ?
                   WHERE id = ? AND admin_id = ? AND status = 'draft'""",
                (now, status_chat_id, status_message_id, broadcast_id, admin_id),
            )
            if cursor.rowcount == 0:
                return None
            cursor = await self._db.execute(
                """INSERT INTO outbox (kind, broadcast_id, user_id, created_at)
                   SELECT 'broadcast', ?, id, ? FROM users WHERE status = 'active'
                   ORDER BY id""",
                (broadcast_id, now),
            )
            recipients = cursor.rowcount
            await self._db.execute(
                "UPDATE broadcasts SET recipients = ? WHERE id = ?", (recipients, broadcast_id)
            )
        return recipients

    @_serialized
    async def cancel_broadcast(self, broadcast_id: int, admin_id: int) -> bool:
        """Cancel this admin's draft; False if it was not a draft of theirs."""
        cursor = await self._db.execute(
            """UPDATE broadcasts SET status = 'cancelled'
               WHERE id = ? AND admin_id = ? AND status = 'draft'""",
            (broadcast_id, admin_id),
        )
        return cursor.rowcount > 0

    @_serialized
    async def broadcast_progress(self, broadcast_id: int) -> dict[str, int]:
        """Return the broadcast's outbox rows counted by status."""
        async with self._db.execute(
            "SELECT status, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
            (broadcast_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    @_serialized
    async def finish_broadcast(self, broadcast_id: int, now: float) -> None:
        """Mark a broadcast as fully processed and reported."""
        await self._db.execute(
            "UPDATE broadcasts SET status = 'done', finished_at = ? WHERE id = ?",
            (now, broadcast_id),
        )

    # Statistics

    @_serialized
    async def stats(self, now: float, top: int = 10) -> Stats:
        """Return the figures /stats shows."""
        users = await self._grouped("SELECT status, count(*) FROM users GROUP BY status")
        async with self._db.execute(
            """SELECT query, count(*) AS n, min(display) FROM subscriptions
               GROUP BY query ORDER BY n DESC, query LIMIT ?""",
            (top,),
        ) as cursor:
            top_queries = [(str(r[2]), int(r[1])) for r in await cursor.fetchall()]
        day_ago = now - 24 * 3600
        page_size, pages, free_pages = await self._page_counts()
        return Stats(
            users=users,
            subscriptions=await self._scalar("SELECT count(*) FROM subscriptions"),
            top_queries=top_queries,
            feeds=await self._scalar("SELECT count(*) FROM feeds"),
            failing_feeds=await self._scalar("SELECT count(*) FROM feeds WHERE failures > 0"),
            stories_24h=await self._scalar(
                "SELECT count(*) FROM stories WHERE seen_at >= ?", (day_ago,)
            ),
            alerts_24h=await self._scalar(
                """SELECT count(*) FROM outbox
                   WHERE kind != 'broadcast' AND status = 'sent' AND sent_at >= ?""",
                (day_ago,),
            ),
            pending=await self._scalar("SELECT count(*) FROM outbox WHERE status = 'pending'"),
            oldest_pending_at=await self._optional(
                "SELECT min(created_at) FROM outbox WHERE status = 'pending'"
            ),
            database_bytes=page_size * pages,
            free_bytes=page_size * free_pages,
        )

    async def _scalar(self, sql: str, params: tuple[float, ...] = ()) -> int:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def _optional(self, sql: str) -> float | None:
        async with self._db.execute(sql) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def _grouped(self, sql: str) -> dict[str, int]:
        async with self._db.execute(sql) as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    # Retention: old rows pruned in small batches, their space given back (bot/retention.py)

    async def _use_incremental_vacuum(self) -> None:
        """Switch the file to incremental auto-vacuum, once, so pruning can shrink it.

        The mode only changes on an empty database or through a VACUUM, which cannot run
        inside a transaction: so it is done here, at open, outside the migrations. A file
        that cannot be rewritten now (disk full, busy) still works; freed pages are reused
        and the switch is tried again at the next start.
        """
        if await self._pragma("auto_vacuum") == AUTO_VACUUM_INCREMENTAL:
            return
        await self._db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if await self._pragma("auto_vacuum") == AUTO_VACUUM_INCREMENTAL:
            return
        size = await self._pragma("page_count") * await self._pragma("page_size")
        log.info("Rewriting the database once (%d bytes) to enable incremental vacuum", size)
        try:
            await self._db.execute("VACUUM")
        except sqlite3.OperationalError as error:
            log.warning(
                "Could not rewrite the database for incremental vacuum, will retry at the "
                "next start (freed space is still reused meanwhile): %s",
                error,
            )

    async def _pragma(self, name: str) -> int:
        async with self._db.execute(f"PRAGMA {name}") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _page_counts(self) -> tuple[int, int, int]:
        """Return page size, pages in the file, and pages free inside it."""
        return (
            await self._pragma("page_size"),
            await self._pragma("page_count"),
            await self._pragma("freelist_count"),
        )

    @_serialized
    async def prune_outbox(self, before: float, after: tuple[float, int], limit: int) -> PrunedPage:
        """Delete finished outbox rows created (and sent) before `before`, looking at the
        `limit` rows after `after` (created_at, id), in one short transaction.

        Finished is sent, failed, dropped or blocked: a blocked row is never retried (a user
        coming back gets new alerts), so it is history like the others.

        Pending rows are never touched, nor the rows of a broadcast still being reported.
        Rows are scanned in id order, which is creation order: a page ending in a row newer
        than `before` ends the pass.
        """
        async with self._transaction():
            async with self._db.execute(
                """SELECT o.id, o.created_at,
                        o.status IN ('sent', 'failed', 'dropped', 'blocked')
                        AND o.created_at < :before
                        AND coalesce(o.sent_at, 0) < :before
                        AND (o.broadcast_id IS NULL OR EXISTS (
                            SELECT 1 FROM broadcasts b
                            WHERE b.id = o.broadcast_id AND b.status = 'done'))
                    FROM outbox o WHERE o.id > :after ORDER BY o.id LIMIT :limit""",
                {"before": before, "after": after[1], "limit": limit},
            ) as cursor:
                rows = list(await cursor.fetchall())
            doomed = [int(row[0]) for row in rows if row[2]]
            if doomed:
                await self._db.execute(
                    f"DELETE FROM outbox WHERE id IN ({_marks(doomed)})", tuple(doomed)
                )
        more = len(rows) == limit and float(rows[-1][1]) < before
        return PrunedPage(len(doomed), (float(rows[-1][1]), int(rows[-1][0])) if more else None)

    @_serialized
    async def prune_stories(
        self, before: float, after: tuple[float, int], limit: int
    ) -> PrunedPage:
        """Delete stories first seen before `before` that can never alert again, looking at
        the `limit` stories after `after` (seen_at, id), in one short transaction.

        A story goes only when nothing refers to it (no outbox row of any status) and a feed
        still listing it cannot make it alert: it carries a publication date before `before`
        (so a re-sighting is older than the 24 h first-sight limit and is recorded, not
        sent), or its feed was removed. An undated story of a watched feed is its only
        memory of that entry and stays.
        """
        async with self._transaction():
            async with self._db.execute(
                """SELECT s.id, s.seen_at,
                       (s.feed_id IS NULL OR (s.published_at IS NOT NULL
                                              AND s.published_at < :before))
                       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.story_id = s.id)
                   FROM stories s
                   WHERE s.seen_at < :before AND (s.seen_at, s.id) > (:seen, :id)
                   ORDER BY s.seen_at, s.id LIMIT :limit""",
                {"before": before, "seen": after[0], "id": after[1], "limit": limit},
            ) as cursor:
                rows = list(await cursor.fetchall())
            doomed = tuple(int(row[0]) for row in rows if row[2])
            if doomed:
                # duplicate_of only records where a copy came from; the copy outlives it.
                await self._db.execute(
                    f"UPDATE stories SET duplicate_of = NULL WHERE duplicate_of IN "
                    f"({_marks(doomed)})",
                    doomed,
                )
                await self._db.execute(
                    f"DELETE FROM stories WHERE id IN ({_marks(doomed)})", doomed
                )
        more = len(rows) == limit
        return PrunedPage(len(doomed), (float(rows[-1][1]), int(rows[-1][0])) if more else None)

    @_serialized
    async def release_free_pages(self, pages: int) -> int:
        """Give up to `pages` free pages back to the file system; return how many stay free."""
        # executescript steps the pragma to the end; execute() would free a single page.
        await self._db.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
        return await self._pragma("freelist_count")


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(int(row[0]), int(row[1]), str(row[2]), str(row[3]))


def prepare_database_file(path: Path) -> None:
    """Create the database file readable by its owner only; raise StorageError if unusable."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise StorageError(
            f"DATABASE_PATH {path}: directory {directory} does not exist; create it or "
            "choose another path"
        )
    if path.exists() and path.is_dir():
        raise StorageError(f"DATABASE_PATH {path} is a directory; give a file path")
    if path.exists() and not _writable(path):
        raise StorageError(f"DATABASE_PATH {path} is not writable; fix its permissions")
    if not path.exists() and not _writable(directory):
        raise StorageError(
            f"DATABASE_PATH {path}: cannot create files in {directory}; fix its permissions "
            "or choose another path"
        )
    if not path.exists():
        # Subscribers' chat ids are personal data: the file is for its owner only.
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as error:
            raise StorageError(
                f"DATABASE_PATH {path} cannot be created ({error.strerror}): the disk may be "
                "read-only or full; choose another path"
            ) from None


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


_FEED_SELECT = """SELECT id, url, title, trusted, primed, etag, last_modified, next_poll_at,
    last_polled_at, last_ok_at, failures, last_error, entries_seen FROM feeds"""


def _feed(row: sqlite3.Row) -> Feed:
    return Feed(
        id=int(row[0]),
        url=str(row[1]),
        title=str(row[2]),
        trusted=bool(row[3]),
        primed=bool(row[4]),
        etag=row[5],
        last_modified=row[6],
        next_poll_at=float(row[7]),
        last_polled_at=row[8],
        last_ok_at=row[9],
        failures=int(row[10]),
        last_error=row[11],
        entries_seen=int(row[12]),
    )


def _outbox_item(row: sqlite3.Row) -> OutboxItem:
    published = row[10]
    return OutboxItem(
        id=int(row[0]),
        kind=str(row[1]),
        user_id=int(row[2]),
        user_status=UserStatus(row[3]),
        matched=tuple(json.loads(row[4])),
        attempts=int(row[5]),
        status=str(row[6]),
        title=row[7] or "",
        link=row[8],
        summary=row[9],
        published=datetime.fromtimestamp(published, UTC) if published is not None else None,
        source=str(row[11]),
        broadcast_id=row[12],
        text=row[13],
    )


_BROADCAST_SELECT = """SELECT id, admin_id, text, status, recipients, status_chat_id,
    status_message_id FROM broadcasts"""


def _broadcast(row: sqlite3.Row) -> Broadcast:
    return Broadcast(
        id=int(row[0]),
        admin_id=int(row[1]),
        text=str(row[2]),
        status=BroadcastStatus(row[3]),
        recipients=int(row[4]),
        status_chat_id=row[5],
        status_message_id=row[6],
    )


def backup_database(source: Path, target: Path) -> None:
    """Copy the database consistently, even while the bot writes to it (online backup)."""
    if not source.is_file():
        raise StorageError(f"there is no database at {source} to back up")
    if target.exists() and target.resolve() == source.resolve():
        raise StorageError("the backup must go to another file than the database itself")
    partial = target.with_name(target.name + ".partial")
    try:
        os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        with (
            contextlib.closing(
                sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
            ) as reader,
            contextlib.closing(sqlite3.connect(partial)) as writer,
        ):
            reader.backup(writer)
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        partial.unlink(missing_ok=True)
        raise StorageError(f"backup to {target} failed: {error}") from None


# Well under SQLite's limit on bound parameters per statement.
IN_CHUNK = 500


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK)]


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _story_row(poll: PollToSave, story: Story, duplicate_of: int | None) -> tuple[object, ...]:
    return (
        poll.feed_id,
        story.key,
        story.link,
        story.canonical_link,
        story.title,
        story.normalised_title,
        story.summary,
        story.published.timestamp() if story.published else None,
        poll.now,
        duplicate_of,
    )


def _earlier_copy(story: Story, by_link: dict[str, int], by_title: dict[str, int]) -> int | None:
    """Return the id of an earlier stored story this one repeats, if any."""
    earlier = [by_link.get(story.canonical_link or ""), by_title.get(story.normalised_title)]
    return min((story_id for story_id in earlier if story_id is not None), default=None)


def _copies_within(fresh: list[StoryToSave], copy_of: list[int | None]) -> list[tuple[str, str]]:
    """Return (key of copy, key of original) for stories repeating an earlier one of the poll."""
    first_with: dict[str, str] = {}  # a link or title -> key of the first story carrying it
    copies: list[tuple[str, str]] = []
    for candidate, original in zip(fresh, copy_of, strict=True):
        story = candidate.story
        marks = [mark for mark in (story.canonical_link, story.normalised_title) if mark]
        first = next((first_with[mark] for mark in marks if mark in first_with), None)
        if first is not None and original is None:
            copies.append((story.key, first))
        for mark in marks:
            first_with.setdefault(mark, story.key)
    return copies
