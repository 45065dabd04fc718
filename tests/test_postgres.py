"""What only the PostgreSQL backend has to prove: match ids in commit order with writers side
by side, clear errors for a database it cannot use. (The contract suite runs it too.)"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from bot.matching.dryrun import search
from bot.matching.query import parse_query
from bot.storage import StorageError, StorageUnavailable
from bot.storage.postgres import SCHEMA_VERSION, PostgresStorage
from bot.storage.postgres.connection import POOL_MAX_SIZE
from bot.storage.postgres.stories import record_matches
from bot.storage.sqlite import SqliteStorage
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema
from tests.storage_contract.helpers import ANN, T0, Db, add_feed, candidate, everyone, private, save
from tests.storage_contract.postgres_peek import PostgresPeek
from tests.storage_contract.sqlite_peek import SqlitePeek

needs_server = pytest.mark.skipif(TEST_DATABASE_URL is None, reason=SKIP_REASON)
LOCK_WAIT = 10.0


@pytest.fixture
async def conninfo() -> AsyncIterator[str]:
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as opened:
        yield opened


@pytest.fixture
async def db(conninfo: str) -> AsyncIterator[Db]:
    storage = await PostgresStorage.open(conninfo)
    try:
        await storage.register_chat(private(ANN), T0)
        yield Db(storage, PostgresPeek(conninfo))
    finally:
        await storage.close()


async def blocked_by(conninfo: str, pid: int) -> bool:
    """Whether some session waits for an advisory lock the session `pid` holds."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as watcher:
        cursor = await watcher.execute(
            """SELECT count(*) FROM pg_locks
               WHERE locktype = 'advisory' AND NOT granted
                   AND %s = ANY(pg_blocking_pids(pid))""",
            (pid,),
        )
        row = await cursor.fetchone()
    return bool(row and row[0])


@needs_server
async def test_a_later_match_id_never_commits_before_an_earlier_one(db: Db, conninfo: str) -> None:
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine first"), match=lambda _: (), deliver=False)
    first = db.peek.stories()["Ukraine first"]
    async with await psycopg.AsyncConnection.connect(conninfo) as writer_a:
        # Writer A takes a match id (as save_poll does) and has not committed yet.
        await record_matches(writer_a, [(first, ("ukraine",))], T0)
        pid_a = writer_a.info.backend_pid
        # Writer B: a whole poll with a match of its own, through the storage's pool.
        writer_b = asyncio.create_task(
            save(db, feed, candidate(feed, "Ukraine second"), match=everyone(ANN), deliver=False)
        )
        waiting = False

        async def b_waits_or_is_done() -> bool:
            nonlocal waiting
            waiting = await blocked_by(conninfo, pid_a)
            return waiting or writer_b.done()

        deadline = asyncio.get_running_loop().time() + LOCK_WAIT
        while not await b_waits_or_is_done():
            assert asyncio.get_running_loop().time() < deadline, "writer B never got going"
            await asyncio.sleep(0.01)
        # Had B committed now, a chat reading "matches after my cursor" would see B's id,
        # move past it, and never see A's smaller one.
        assert not writer_b.done(), "writer B committed while A's earlier match was in flight"
        assert waiting
        assert await db.storage.story_matches(0, 10) == []
        await writer_a.commit()
    await asyncio.wait_for(writer_b, LOCK_WAIT)
    second = db.peek.stories()["Ukraine second"]
    matches = await db.storage.story_matches(0, 10)
    assert [m.story_id for m in matches] == [first, second]
    assert matches[0].id < matches[1].id


async def test_a_server_that_does_not_answer_is_one_clear_error_without_the_password() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(StorageError) as raised:
        await PostgresStorage.open("postgresql://bot:hunter2@127.0.0.1:1/newshound")
    message = str(raised.value)
    assert message.startswith("DATABASE_URL postgresql://bot:***@127.0.0.1:1/newshound cannot")
    assert "hunter2" not in message


@needs_server
async def test_a_database_that_does_not_exist_is_named_in_the_error() -> None:
    assert TEST_DATABASE_URL is not None
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + "/newshound_no_such_database"
    with pytest.raises(StorageError, match="newshound_no_such_database"):
        await PostgresStorage.open(url)


@needs_server
async def test_opening_again_migrates_nothing_and_a_newer_schema_is_refused(
    db: Db, conninfo: str
) -> None:
    feed = await add_feed(db)
    reopened = await PostgresStorage.open(conninfo)
    try:
        assert await reopened.schema_version() == SCHEMA_VERSION
        assert [f.id for f in await reopened.list_feeds()] == [feed.id]
        assert await reopened.integrity_check() == "ok"
    finally:
        await reopened.close()
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
        await admin.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError, match="newer than this Newshound understands"):
        await PostgresStorage.open(conninfo)


TITLES = (
    "Ukraine talks resume in Geneva",
    "Ukrainian grain reaches Istanbul",
    "УКРАЇНА і НАТО: саміт у Вільнюсі",
    "Україна отримала нові танки",
    "Украина и Россия обменялись пленными",
    "NATO summit opens, football final postponed",
    "Champions League final in Kyiv",
    "Putin meets Xi in Beijing",
    "Trump will meet Putin next week",
    "US and EU agree on sanctions",
    "Drone attack on Kiev overnight",
    "Joe Biden visits Kyiv",
)
QUERIES = (
    "Ukraine",
    '"Ukraine"',
    "Україна",
    "Ukrain*",
    "Putin Xi",
    '"Joe Biden"',
    "NATO -football",
    'NATO -"Champions League"',
    "Kyiv OR Kiev",
    "Kyiv OR Kiev drone",
    "Putin NEAR/5 Trump",
    "US",
    "НАТО",
    "Putin -Trump",
)


@needs_server
async def test_the_dry_run_index_gives_the_candidates_sqlite_fts5_gives(
    db: Db, tmp_path: Path
) -> None:
    sqlite = await SqliteStorage.open(tmp_path / "same.sqlite3")
    try:
        await sqlite.register_chat(private(ANN), T0)
        twin = Db(sqlite, SqlitePeek(tmp_path / "same.sqlite3"))
        for each in (db, twin):
            feed = await add_feed(each)
            await save(each, feed, *(candidate(feed, title) for title in TITLES))
            await each.storage.index_story_texts(100)
        titles = [{v: k for k, v in each.peek.stories().items()} for each in (db, twin)]
        for query in QUERIES:
            for part in ("candidates", "sure"):
                ask = getattr(search(parse_query(query)), part)
                if ask is None:
                    continue
                found = [
                    [names[i] for i in await each.storage.search_story_ids(ask, T0)]
                    for each, names in zip((db, twin), titles, strict=True)
                ]
                assert found[0] == found[1], f"{query} ({part})"
                assert found[0] or part == "sure", f"{query} finds nothing: a test that cannot fail"
    finally:
        await sqlite.close()


@needs_server
async def test_a_lost_connection_is_unavailable_for_now_and_the_next_call_reconnects(
    db: Db, conninfo: str
) -> None:
    feed = await add_feed(db)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
        # Every connection of the storage's pool is cut, as a server restart would (this
        # test's sessions only: they carry its schema's name).
        await admin.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE application_name = current_setting('application_name')
                   AND pid <> pg_backend_pid()"""
        )
    outcomes: list[str] = []
    for _ in range(POOL_MAX_SIZE + 1):
        try:
            outcomes.append(str([f.id for f in await db.storage.list_feeds()]))
        except StorageUnavailable:
            outcomes.append("unavailable")
    assert "unavailable" in outcomes, "the cut connections were used and failed as such"
    assert outcomes[-1] == str([feed.id]), "a fresh connection answers again"
