"""Several instances on one PostgreSQL schema: what one changes reaches the others' memory
(LISTEN/NOTIFY through bot/sync.py), and the near-identical titles index sees the titles
every instance saved. Each instance is a PostgresStorage of its own on the same schema."""

import asyncio
import contextlib
import logging
import statistics
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import psycopg
import pytest

from bot.matching.index import SubscriptionIndex
from bot.services import ChatLanguages
from bot.storage import ChatSchedule, StorageError
from bot.storage.changes import Change, ChangeKind, parse_change
from bot.storage.postgres import PostgresStorage
from bot.sync import ChangeApplier
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    HOUR,
    T0,
    Db,
    add_feed,
    candidate,
    private,
    save,
)
from tests.storage_contract.postgres_peek import PostgresPeek

log = logging.getLogger(__name__)

TITLE = "Ukraine and Russia agree to a new round of peace talks in Geneva"
REWORDED = "Ukraine, Russia agree to new round of peace talks in Geneva"
CHANGES_MEASURED = 100


@pytest.fixture
async def conninfo() -> AsyncIterator[str]:
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as opened:
        yield opened


@dataclass
class Instance:
    """What one bot instance keeps in memory, kept true by the changes it hears."""

    storage: PostgresStorage
    index: SubscriptionIndex = field(default_factory=SubscriptionIndex)
    retimed: list[tuple[int, float]] = field(default_factory=list)
    applied: list[Change] = field(default_factory=list)
    # Set and replaced at each change applied: tests wait on it.
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.languages = ChatLanguages(self.storage)
        self.sync = ChangeApplier(
            self.storage,
            self.index,
            self.languages,
            lambda chat, at: self.retimed.append((chat, at)),
            self._note,
        )

    def _note(self, change: Change) -> None:
        self.applied.append(change)
        self.event.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until condition holds, checked after each change applied."""
        while not condition():
            self.event.clear()
            await self.event.wait()


def indexed(instance: Instance, chat_id: int, query: str) -> Callable[[], bool]:
    """Whether the instance's index holds the chat's query now."""
    return lambda: query in instance.index.subscriptions_of(chat_id)


@contextlib.asynccontextmanager
async def listening(conninfo: str) -> AsyncIterator[Instance]:
    """An instance whose changes stream runs until the block ends."""
    instance = Instance(await PostgresStorage.open(conninfo))
    stream = await instance.storage.listen_changes()
    stop = asyncio.Event()
    task = asyncio.create_task(stream.run(instance.sync.apply, stop))
    try:
        yield instance
    finally:
        stop.set()
        await task
        await stream.close()
        await instance.storage.close()


@contextlib.asynccontextmanager
async def other(conninfo: str) -> AsyncIterator[PostgresStorage]:
    """Another instance's storage, on the same schema."""
    storage = await PostgresStorage.open(conninfo)
    try:
        yield storage
    finally:
        await storage.close()


def test_a_payload_round_trips_and_carries_ids_only() -> None:
    change = Change(ChangeKind.SCHEDULE, -100123, T0 + 0.25)
    assert change.payload() == f"t:-100123:{T0 + 0.25!r}"
    assert parse_change(change.payload()) == change
    assert parse_change(Change(ChangeKind.SUBSCRIPTIONS, 7).payload()) == Change(
        ChangeKind.SUBSCRIPTIONS, 7
    )
    assert parse_change("x:1") is None
    assert parse_change("s:abc") is None


async def test_a_subscription_made_elsewhere_reaches_the_index(conninfo: str) -> None:
    async with listening(conninfo) as here, other(conninfo) as there:
        await there.register_chat(private(ANN), T0)
        await there.add_subscriptions(ANN, [("ukraine", "Ukraine")], limit=10, now=T0)
        await here.until(lambda: here.index.subscriptions_of(ANN) == {"ukraine": "Ukraine"})
        assert list(here.index.match_queries(["ukraine"])) == ["ukraine"]
        added = await there.add_subscriptions(ANN, [("kyiv", "Kyiv")], limit=10, now=T0)
        await here.until(lambda: "kyiv" in here.index.subscriptions_of(ANN))
        await there.remove_subscription_by_id(ANN, added.added[0].id)
        await here.until(lambda: here.index.subscriptions_of(ANN) == {"ukraine": "Ukraine"})
        await there.remove_all_subscriptions(ANN)
        await here.until(lambda: not here.index.subscriptions_of(ANN))
        assert len(here.index) == 0


async def test_how_long_a_change_takes_to_reach_another_instance(conninfo: str) -> None:
    """Measured, not asserted (a loaded machine's wall clock): the README quotes it. See it
    with `-o log_cli=true --log-cli-level=INFO`."""
    async with listening(conninfo) as here, other(conninfo) as there:
        await there.register_chat(private(ANN), T0)
        took = []
        for n in range(CHANGES_MEASURED):
            query = f"query {n}"
            await there.add_subscriptions(ANN, [(query, query)], limit=1000, now=T0)
            committed = time.perf_counter()
            await here.until(indexed(here, ANN, query))
            took.append(time.perf_counter() - committed)
        took.sort()
        log.info(
            "From commit to the other instance's index, %d changes: median %.1f ms, "
            "95th percentile %.1f ms, slowest %.1f ms",
            len(took),
            1000 * statistics.median(took),
            1000 * took[int(0.95 * len(took)) - 1],
            1000 * took[-1],
        )
        assert len(here.index.subscriptions_of(ANN)) == CHANGES_MEASURED


async def test_a_group_that_moved_is_reindexed_under_its_new_id(conninfo: str) -> None:
    group, supergroup = -500, -100500
    async with listening(conninfo) as here, other(conninfo) as there:
        await there.register_chat(private(group), T0)
        await there.add_subscriptions(group, [("ukraine", "Ukraine")], limit=10, now=T0)
        await here.until(lambda: bool(here.index.subscriptions_of(group)))
        before = len(here.applied)
        await there.migrate_chat(group, supergroup, T0)
        await here.until(lambda: Change(ChangeKind.SUBSCRIPTIONS, group) in here.applied[before:])
        assert here.index.subscriptions_of(supergroup) == {"ukraine": "Ukraine"}
        assert here.index.subscriptions_of(group) == {}


async def test_a_language_changed_elsewhere_is_read_again(conninfo: str) -> None:
    async with listening(conninfo) as here, other(conninfo) as there:
        await there.register_chat(private(ANN), T0)
        await here.until(lambda: Change(ChangeKind.LANGUAGE, ANN) in here.applied)
        assert await here.languages.locale_of(ANN, "en") == "en"  # cached from here on
        before = len(here.applied)
        await there.set_chat_language(ANN, "uk", T0)
        await here.until(lambda: Change(ChangeKind.LANGUAGE, ANN) in here.applied[before:])
        assert await here.languages.locale_of(ANN, "en") == "uk"


async def test_a_schedule_changed_elsewhere_retimes_the_held_digests(conninfo: str) -> None:
    async with listening(conninfo) as here, other(conninfo) as there:
        await there.register_chat(private(ANN), T0)
        schedule = ChatSchedule("Europe/Kyiv", quiet=(23 * 60, 7 * 60))
        await there.save_schedule(ANN, schedule, release_held_at=T0 + HOUR, now=T0)
        await here.until(lambda: bool(here.retimed))
        assert here.retimed == [(ANN, T0 + HOUR)]


async def test_a_rolled_back_change_is_never_heard(conninfo: str) -> None:
    async with listening(conninfo) as here, other(conninfo) as there:
        # No such chat: the insert fails and the transaction, its NOTIFY with it, rolls back.
        with pytest.raises((StorageError, psycopg.Error)):
            await there.add_subscriptions(BOB, [("ukraine", "Ukraine")], limit=10, now=T0)
        await there.register_chat(private(ANN), T0)
        await there.add_subscriptions(ANN, [("kyiv", "Kyiv")], limit=10, now=T0)
        await here.until(lambda: bool(here.index.subscriptions_of(ANN)))
        # Notifications come in commit order: the rolled-back one would have come first.
        assert Change(ChangeKind.SUBSCRIPTIONS, BOB) not in here.applied
        assert here.index.subscriptions_of(BOB) == {}


async def test_after_a_lost_connection_everything_is_read_again(conninfo: str) -> None:
    async with listening(conninfo) as here, other(conninfo) as there:
        await there.register_chat(private(ANN), T0)
        assert await here.languages.locale_of(ANN, "en") == "en"
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
            # The listening session of this test's schema (its application_name).
            await admin.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE application_name = current_setting('application_name')
                       AND query LIKE 'LISTEN %%' AND pid <> pg_backend_pid()"""
            )
        # Committed while nobody may be listening: only the resynchronisation can bring it.
        await there.add_subscriptions(ANN, [("ukraine", "Ukraine")], limit=10, now=T0)
        await there.set_chat_language(ANN, "uk", T0)
        await here.until(lambda: Change(ChangeKind.RESYNC) in here.applied)
        await here.until(lambda: here.index.subscriptions_of(ANN) == {"ukraine": "Ukraine"})
        assert await here.languages.locale_of(ANN, "en") == "uk"


async def test_the_titles_index_sees_titles_another_instance_saved(conninfo: str) -> None:
    async with other(conninfo) as first, other(conninfo) as second:
        one, two = Db(first, PostgresPeek(conninfo)), Db(second, PostgresPeek(conninfo))
        await first.register_chat(private(ANN), T0)
        a, b, c = await add_feed(one, "a"), await add_feed(one, "b"), await add_feed(one, "c")
        # The second instance reads its index now, before the first saves the original.
        await save(two, c, candidate(c, "Storm closes schools across the coast of Norway"))
        await save(one, a, candidate(a, TITLE), now=T0 + 60)
        saved = await save(two, b, candidate(b, REWORDED), now=T0 + 120)
        assert saved.new_stories == 1
        assert saved.matched == 0  # a copy of the first instance's story: no second alert
        assert sorted(title for _, title in one.alerts()) == sorted(
            ["Storm closes schools across the coast of Norway", TITLE]
        )
