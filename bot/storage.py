"""The only module with SQL: schema, migrations and every query Newshound runs."""

import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Self

import aiosqlite

log = logging.getLogger(__name__)


class StorageError(Exception):
    """The database cannot be used; the message says why and what to do."""


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


class Storage:
    """One long-lived aiosqlite connection and the queries run on it."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

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
            await storage._migrate()
        except BaseException:
            await connection.close()
            raise
        return storage

    async def close(self) -> None:
        """Close the connection (and its thread)."""
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
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in migration.statements:
                    await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {number}")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def schema_version(self) -> int:
        """Return PRAGMA user_version."""
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict ("ok" when healthy)."""
        async with self._db.execute("PRAGMA integrity_check") as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else "no answer"

    # Users

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

    async def get_user(self, user_id: int) -> User | None:
        """Return the user, or None if they never started the bot."""
        async with self._db.execute(
            "SELECT id, username, first_name, status FROM users WHERE id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return User(int(row[0]), row[1], row[2], UserStatus(row[3]))

    async def set_user_status(self, user_id: int, status: UserStatus, now: float) -> bool:
        """Set a user's status; return False when the user is unknown."""
        cursor = await self._db.execute(
            "UPDATE users SET status = ?, updated_at = ? WHERE id = ?",
            (status.value, now, user_id),
        )
        return cursor.rowcount > 0

    # Subscriptions

    async def add_subscriptions(
        self, user_id: int, queries: Sequence[tuple[str, str]], limit: int, now: float
    ) -> AddedSubscriptions:
        """Store (normalised, display) queries up to the user's limit, in one transaction."""
        added: list[Subscription] = []
        existing: list[str] = []
        over_limit: list[str] = []
        await self._db.execute("BEGIN IMMEDIATE")
        try:
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
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")
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

    async def list_subscriptions(self, user_id: int) -> list[Subscription]:
        """Return the user's subscriptions, oldest first."""
        async with self._db.execute(
            """SELECT id, user_id, query, display FROM subscriptions
               WHERE user_id = ? ORDER BY id""",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_subscription(row) for row in rows]

    async def remove_subscription(self, user_id: int, normalised: str) -> Subscription | None:
        """Delete the user's subscription with this normalised query; return it if it existed."""
        return await self._delete_one(
            "DELETE FROM subscriptions WHERE user_id = ? AND query = ? "
            "RETURNING id, user_id, query, display",
            (user_id, normalised),
        )

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

    async def remove_all_subscriptions(self, user_id: int) -> list[Subscription]:
        """Delete every subscription of the user; return what was deleted."""
        async with self._db.execute(
            "DELETE FROM subscriptions WHERE user_id = ? RETURNING id, user_id, query, display",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_subscription(row) for row in rows]

    async def all_subscriptions(self) -> list[Subscription]:
        """Return every subscription of every user (to build the matching index)."""
        async with self._db.execute(
            "SELECT id, user_id, query, display FROM subscriptions ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [_subscription(row) for row in rows]


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
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)
