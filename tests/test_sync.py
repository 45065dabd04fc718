"""ChangeApplier on a real SQLite file: a change (as another instance would announce it)
brings the index, the languages cache and the held digests to what storage holds; applying
twice changes nothing more."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.matching.index import SubscriptionIndex
from bot.services import ChatLanguages
from bot.storage.changes import RESYNC, Change, ChangeKind
from bot.storage.sqlite import SqliteStorage
from bot.sync import ChangeApplier
from tests.storage_contract.helpers import ANN, BOB, T0, private


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    opened = await SqliteStorage.open(tmp_path / "sync.sqlite3")
    try:
        for chat_id in (ANN, BOB):
            await opened.register_chat(private(chat_id), T0)
        yield opened
    finally:
        await opened.close()


async def test_a_chats_subscriptions_are_read_again_into_the_index(
    storage: SqliteStorage,
) -> None:
    index = SubscriptionIndex()
    index.add(ANN, "stale", "Stale")
    index.add(BOB, "kept", "Kept")
    sync = ChangeApplier(storage, index, ChatLanguages(storage))
    await storage.add_subscriptions(ANN, [("ukraine", "Ukraine"), ("kyiv", "Kyiv")], 10, T0)
    for _ in range(2):  # heard twice (its own and another's): the same result
        await sync.apply(Change(ChangeKind.SUBSCRIPTIONS, ANN))
        assert index.subscriptions_of(ANN) == {"ukraine": "Ukraine", "kyiv": "Kyiv"}
    assert index.subscriptions_of(BOB) == {"kept": "Kept"}, "another chat is left alone"


async def test_resync_brings_the_whole_index_to_storage(storage: SqliteStorage) -> None:
    index = SubscriptionIndex()
    index.add(BOB, "gone", "Gone")
    index.add(ANN, "ukraine", "old display")
    await storage.add_subscriptions(ANN, [("ukraine", "Ukraine")], 10, T0)
    await storage.add_subscriptions(BOB, [("nato", "NATO")], 10, T0)
    languages = ChatLanguages(storage)
    assert await languages.locale_of(ANN, "en") == "en"
    await storage.set_chat_language(ANN, "uk", T0)
    await ChangeApplier(storage, index, languages).apply(RESYNC)
    assert sorted(index.entries()) == [(ANN, "ukraine", "Ukraine"), (BOB, "nato", "NATO")]
    assert await languages.locale_of(ANN, "en") == "uk", "the languages cache was dropped"


async def test_a_schedule_change_retimes_the_chats_held_digests(storage: SqliteStorage) -> None:
    retimed: list[tuple[int, float]] = []
    sync = ChangeApplier(
        storage,
        SubscriptionIndex(),
        ChatLanguages(storage),
        lambda chat, at: retimed.append((chat, at)),
    )
    await sync.apply(Change(ChangeKind.SCHEDULE, ANN, T0 + 60))
    assert retimed == [(ANN, T0 + 60)]
