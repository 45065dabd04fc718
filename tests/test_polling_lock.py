"""The polling lock on PostgreSQL: one instance polls Telegram, another takes over within
seconds when the holder's database session dies (pg_terminate_backend), and the old holder
stops polling. Real PostgreSQL, real PTB Applications against the Bot API fake."""

import asyncio
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from bot.app import build_application
from bot.config import load_settings
from bot.receiving import CONFLICTS_TOLERATED, LongPolling, PollingConflict
from bot.services import BotApplication
from bot.storage import PollingLock, Storage
from bot.storage.postgres import PostgresStorage
from bot.storage.postgres.polling_lock import POLLING_LOCK
from tests.botapi_fake import CONFLICT, BotApiFake
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
WAIT = 30.0
# The holder checks this often; a new holder waits twice as long before polling.
RETRY = 0.25

pytestmark = pytest.mark.skipif(TEST_DATABASE_URL is None, reason=SKIP_REASON)


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_schema() as url:
        yield url


@pytest.fixture
async def storages(database: str) -> AsyncIterator[tuple[Storage, Storage]]:
    first = await PostgresStorage.open(database)
    second = await PostgresStorage.open(database)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def kill_lock_holder(url: str) -> int:
    """End the database session that holds this schema's polling lock; return its pid."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        cursor = await db.execute(
            """SELECT pid FROM pg_locks
               WHERE locktype = 'advisory' AND granted AND classid = %s
                 AND objid = hashtext(current_schema())::oid AND objsubid = 2
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
            (POLLING_LOCK,),
        )
        [(pid,)] = await cursor.fetchall()
        await db.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return int(pid)


async def acquired(lock: PollingLock) -> None:
    """Try the lock until it is taken (the server frees it once the killed session ends)."""
    deadline = time.monotonic() + WAIT
    while not await lock.acquire():
        assert time.monotonic() < deadline, "the lock was never freed"
        await asyncio.sleep(RETRY)


async def test_one_holder_at_a_time_and_the_lock_outlives_no_session(
    database: str, storages: tuple[Storage, Storage]
) -> None:
    first, second = (storage.polling_lock() for storage in storages)
    assert first is not None and second is not None
    try:
        assert await first.acquire()
        assert await first.acquire(), "taking it again is harmless"
        assert not await second.acquire()
        assert await first.held()
        await kill_lock_holder(database)
        assert not await first.held(), "its session is gone"
        await acquired(second)
        assert not await first.acquire(), "the other holds it now"
        await second.release()
        await acquired(first)
    finally:
        await first.release()
        await second.release()


class Instance:
    """A PTB Application polling the fake through LongPolling with a polling lock."""

    def __init__(self, name: str, fake: BotApiFake, storage: Storage, log: list[str]) -> None:
        self.name = name
        settings = load_settings({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url})
        self.app: BotApplication = build_application(settings)
        self.stop = asyncio.Event()
        self.changed = asyncio.Event()
        self._log = log
        self.polling = LongPolling(
            self.app,
            self.stop,
            storage.polling_lock(),
            retry_seconds=RETRY,
            on_receiving=self._on_receiving,
        )

    def _on_receiving(self, receiving: bool) -> None:
        self._log.append(f"{self.name} {'starts' if receiving else 'stops'}")
        self.changed.set()

    async def until(self, receiving: bool) -> None:
        async with asyncio.timeout(WAIT):
            while self.polling.receiving != receiving:
                self.changed.clear()
                await self.changed.wait()


async def test_a_holder_that_loses_its_session_stops_polling_until_it_holds_the_lock_again(
    database: str, storages: tuple[Storage, Storage], caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    with BotApiFake(TOKEN) as fake:
        a = Instance("a", fake, storages[0], log)
        async with a.app:
            await a.polling.start()
            await a.until(receiving=True)
            await kill_lock_holder(database)
            await a.until(receiving=False)
            await a.until(receiving=True)
            await a.polling.stop()
    assert log == ["a starts", "a stops", "a starts", "a stops"]
    assert not a.stop.is_set(), "it did not give up"


async def test_another_instance_takes_over_when_the_holder_dies(
    database: str, storages: tuple[Storage, Storage], caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    with BotApiFake(TOKEN) as fake:
        a, b = (Instance(n, fake, s, log) for n, s in zip("ab", storages, strict=True))
        async with a.app, b.app:
            await a.polling.start()
            await a.until(receiving=True)
            await b.polling.start()
            polls_before = fake.count_requests("getUpdates")
            # a dies: its process (here, its polling) ends without unlocking, and the server
            # ends its session.
            await kill_lock_holder(database)
            await a.polling.stop()
            await b.until(receiving=True)
            assert fake.count_requests("getUpdates") > polls_before, "b polls"
            await b.polling.stop()
    assert log == ["a starts", "a stops", "b starts", "b stops"], "never two pollers"
    # (The fake ends the abandoned long poll of the old holder with a 409 no one reads.)
    assert not [r for r in caplog.records if "409" in r.getMessage()], "no 409 reached either"
    assert not b.stop.is_set(), "b did not give up"


async def test_a_lone_409_is_checked_and_409s_that_keep_coming_stop_the_holder(
    storages: tuple[Storage, Storage], caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    with BotApiFake(TOKEN) as fake:
        a = Instance("a", fake, storages[0], log)
        async with a.app:
            await a.polling.start()
            await a.until(receiving=True)
            # A poller outside the lock (a deployment on another database) with this token.
            fake.fail_next("getUpdates", status=409, description=CONFLICT, times=1000)
            async with asyncio.timeout(WAIT * 2):
                await a.stop.wait()
            await a.polling.stop()
    warnings = [r.getMessage() for r in caplog.records if "409" in r.getMessage()]
    assert len(warnings) == CONFLICTS_TOLERATED, "the first ones only made it check its lock"
    assert "does not share its database" in warnings[-1]
    with pytest.raises(PollingConflict):
        a.polling.raise_if_conflicted()
