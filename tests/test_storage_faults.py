"""Storage failures: which SQLite errors pause and retry, which are bugs; failed commits."""

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.render import replies
from bot.storage import ChatStatus, SavedPoll, StorageUnavailable
from bot.storage.sqlite import SqliteStorage
from bot.storage.sqlite.faults import is_unavailable
from tests.e2e import running_bot
from tests.full_disk import full_disk
from tests.storage_contract.helpers import Db, add_feed, candidate, everyone, private, save
from tests.storage_contract.sqlite_peek import SqlitePeek

ANN = 7001
# A setup statement waits this long at most for the bot's writer to commit (a lock wait:
# it returns as soon as the lock is free).
LOCK_WAIT_SECONDS = 30.0
NOBODY = 7999


def coded(code: int) -> sqlite3.OperationalError:
    """An OperationalError carrying a result code, as sqlite3 raises them."""
    error = sqlite3.OperationalError(f"result code {code}")
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("code", "unavailable"),
    [
        (sqlite3.SQLITE_FULL, True),
        (sqlite3.SQLITE_READONLY, True),
        (sqlite3.SQLITE_READONLY_DBMOVED, True),
        (sqlite3.SQLITE_BUSY, True),
        (sqlite3.SQLITE_BUSY_SNAPSHOT, True),
        (sqlite3.SQLITE_LOCKED, True),
        (sqlite3.SQLITE_IOERR, True),
        (sqlite3.SQLITE_IOERR_WRITE, True),
        (sqlite3.SQLITE_IOERR_FSYNC, True),
        (sqlite3.SQLITE_CANTOPEN, True),
        (sqlite3.SQLITE_ERROR, False),
        (sqlite3.SQLITE_SCHEMA, False),
        (sqlite3.SQLITE_INTERRUPT, False),
        (sqlite3.SQLITE_ABORT, False),
        (sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, False),
        (sqlite3.SQLITE_CORRUPT, False),
    ],
    ids=lambda value: str(value),
)
def test_only_conditions_that_can_pass_are_unavailable(code: int, unavailable: bool) -> None:
    assert is_unavailable(coded(code)) is unavailable


def test_an_error_without_a_result_code_is_a_bug() -> None:
    assert not is_unavailable(sqlite3.OperationalError("raised by Python, not by SQLite"))


# ---- real errors from real SQLite files ----


@contextlib.contextmanager
def database(path: Path, uri: str = "", *, wait: float = 0) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(uri or path, uri=bool(uri), timeout=wait, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def _disk_full(path: Path) -> None:
    with database(path) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        db.execute("INSERT INTO t VALUES (zeroblob(100000))")


def _read_only(path: Path) -> None:
    with database(path, f"{path.absolute().as_uri()}?mode=ro") as db:
        db.execute("INSERT INTO t VALUES (1)")


def _busy(path: Path) -> None:
    with database(path) as holder, database(path) as db:
        holder.execute("BEGIN IMMEDIATE")
        db.execute("BEGIN IMMEDIATE")


def _cannot_open(path: Path) -> None:
    with database(path, f"{(path.parent / 'gone' / 'db').as_uri()}?mode=rw"):
        pass


def _no_such_column(path: Path) -> None:
    with database(path) as db:
        db.execute("SELECT missing FROM t")


def _syntax_error(path: Path) -> None:
    with database(path) as db:
        db.execute("SELEC x FROM t")


@pytest.mark.parametrize(
    ("provoke", "unavailable"),
    [
        (_disk_full, True),
        (_read_only, True),
        (_busy, True),
        (_cannot_open, True),
        (_no_such_column, False),
        (_syntax_error, False),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)).strip("_"),
)
def test_real_sqlite_errors_are_classified_by_their_code(
    tmp_path: Path, provoke: Callable[[Path], None], unavailable: bool
) -> None:
    path = tmp_path / "db.sqlite3"
    with database(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(sqlite3.OperationalError) as raised:
        provoke(path)
    assert is_unavailable(raised.value) is unavailable, raised.value.sqlite_errorname


# ---- through Storage ----


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    storage = await SqliteStorage.open(tmp_path / "newshound.sqlite3")
    try:
        await storage.register_chat(private(ANN, "Ann"), now=1.0)
        yield storage
    finally:
        await storage.close()


def committed(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows as another connection sees them: only what was committed."""
    with database(path) as db:
        return list(db.execute(sql))


async def test_a_failed_commit_is_rolled_back_and_later_writes_are_committed(
    tmp_path: Path, storage: SqliteStorage
) -> None:
    path = tmp_path / "newshound.sqlite3"
    # A deferred constraint is checked at COMMIT, and SQLite keeps the transaction open when
    # that COMMIT fails: the one failure of COMMIT certain to leave it open.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with storage._lock, storage._transaction():
            await storage._db.execute("PRAGMA defer_foreign_keys = ON")
            await storage._db.execute(
                """INSERT INTO subscriptions (chat_id, query, display, created_at)
                   VALUES (?, 'orphan', 'orphan', 2)""",
                (NOBODY,),
            )

    added = await storage.add_subscriptions(ANN, [("ukraine", "Ukraine")], 10, now=3.0)
    assert [s.query for s in added.added] == ["ukraine"]
    assert await storage.set_chat_status(ANN, ChatStatus.PAUSED, now=4.0)
    # Seen from another connection while this one stays open: committed, not held in a
    # transaction left open by the failed COMMIT.
    assert committed(path, "SELECT chat_id, query FROM subscriptions") == [(ANN, "ukraine")]
    assert committed(path, "SELECT status FROM chats") == [("paused",)]


async def test_a_sql_bug_is_raised_as_itself_not_as_storage_unavailable(
    tmp_path: Path, storage: SqliteStorage
) -> None:
    path = tmp_path / "newshound.sqlite3"
    # Queries and schema that disagree, as after a faulty migration.
    with database(path) as db:
        db.execute("ALTER TABLE subscriptions RENAME COLUMN display TO shown")
    with pytest.raises(sqlite3.OperationalError, match="display") as written:
        await storage.add_subscriptions(ANN, [("ukraine", "Ukraine")], 10, now=2.0)
    assert not isinstance(written.value, StorageUnavailable)
    with pytest.raises(sqlite3.OperationalError, match="display"):
        await storage.list_subscriptions(ANN)  # on the reader connection

    with database(path) as db:
        db.execute("ALTER TABLE subscriptions RENAME COLUMN shown TO display")
    added = await storage.add_subscriptions(ANN, [("nato", "NATO")], 10, now=3.0)
    assert [s.query for s in added.added] == ["nato"], "the failed one left no transaction"
    assert committed(path, "SELECT query FROM subscriptions") == [("nato",)]


def rename_column(path: Path, old: str, new: str) -> None:
    """Rename a subscriptions column, waiting for the bot's writer (its startup tasks write)."""
    with database(path, wait=LOCK_WAIT_SECONDS) as db:
        db.execute(f"ALTER TABLE subscriptions RENAME COLUMN {old} TO {new}")


async def test_a_command_hitting_a_sql_bug_gets_the_internal_error_reply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.ask(ANN, "/start")
        await asyncio.to_thread(rename_column, bot.database, "display", "shown")

        reply = await bot.ask(ANN, "/subscribe NATO")

        assert reply.plain_text == replies.internal_error(), "not 'try again later'"
        [logged] = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
        assert isinstance(logged.exc_info and logged.exc_info[1], sqlite3.OperationalError)
        await asyncio.to_thread(rename_column, bot.database, "shown", "display")
        again = await bot.ask(ANN, "/subscribe NATO")
        assert "Subscribed: NATO" in again.plain_text


async def test_a_poll_failing_at_its_last_statement_stores_nothing_of_it(
    tmp_path: Path, storage: SqliteStorage
) -> None:
    # save_poll runs its statements in one call on the writer's thread: a failure after the
    # stories and matches were inserted must roll all of them back, as a bug or as a pause.
    path = tmp_path / "newshound.sqlite3"
    db = Db(storage, SqlitePeek(path))
    feed = await add_feed(db)
    with database(path) as raw:
        raw.execute("ALTER TABLE feeds RENAME COLUMN body_digest TO digest")
    with pytest.raises(sqlite3.OperationalError, match="body_digest") as failed:
        await save(db, feed, candidate(feed, "Ukraine talks"), match=everyone(ANN))
    assert not isinstance(failed.value, StorageUnavailable)
    assert committed(path, "SELECT count(*) FROM stories") == [(0,)]
    assert committed(path, "SELECT count(*) FROM story_matches") == [(0,)]
    assert committed(path, "SELECT count(*) FROM story_texts") == [(0,)]

    with database(path) as raw:
        raw.execute("ALTER TABLE feeds RENAME COLUMN digest TO body_digest")
    # Forty long titles need new pages, which the full disk refuses.
    many = [candidate(feed, f"Ukraine talks, round {n}: {'words ' * 60}") for n in range(40)]
    async with full_disk(storage):
        with pytest.raises(StorageUnavailable):
            await save(db, feed, *many, match=everyone(ANN))
    assert committed(path, "SELECT count(*) FROM stories") == [(0,)]

    saved = await save(db, feed, candidate(feed, "Ukraine talks"), match=everyone(ANN))
    assert saved == SavedPoll(new_stories=1, matched=1), "the failed ones left no transaction"
    assert db.alerts() == [(ANN, "Ukraine talks")]
