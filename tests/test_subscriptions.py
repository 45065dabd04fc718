"""Subscription changes go through one service that updates storage and the index together."""

import ast
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.matching.index import SubscriptionIndex
from bot.matching.query import parse_query
from bot.services import Subscriptions
from bot.storage import Storage
from bot.storage.sqlite import SqliteStorage
from bot.text.analyzer import analyze
from tests.storage_contract.helpers import private

ROOT = Path(__file__).resolve().parent.parent
ANN, BOB, SUPERGROUP = 1, 2, -1001
# The storage calls that change subscriptions, and the index calls that must follow them.
STORAGE_CHANGES = frozenset(
    {
        "add_subscriptions",
        "remove_subscription",
        "remove_subscription_by_id",
        "remove_all_subscriptions",
        "migrate_chat",
    }
)
INDEX_CHANGES = frozenset({"add", "add_many", "remove", "remove_chat"})
SERVICE = ROOT / "bot" / "services.py"


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    storage = await SqliteStorage.open(tmp_path / "db.sqlite3")
    try:
        for chat_id in (ANN, BOB):
            await storage.register_chat(private(chat_id), now=1.0)
        yield storage
    finally:
        await storage.close()


def _queries(*texts: str) -> list[tuple[str, str]]:
    return [(parse_query(text).normalised, text) for text in texts]


def _matched(index: SubscriptionIndex, story: str) -> dict[int, tuple[str, ...]]:
    return index.match(analyze(story))


async def _stored(storage: Storage, chat_id: int) -> list[str]:
    return [subscription.display for subscription in await storage.list_subscriptions(chat_id)]


async def test_add_stores_and_indexes_only_what_was_added(storage: Storage) -> None:
    index = SubscriptionIndex()
    subscriptions = Subscriptions(storage, index, clock=lambda: 5.0)
    await subscriptions.add(ANN, _queries("Ukraine"), limit=2)
    result = await subscriptions.add(ANN, _queries("ukraine", "NATO", "Kyiv"), limit=2)
    assert [s.display for s in result.added] == ["NATO"]
    assert (result.existing, result.over_limit) == (("ukraine",), ("Kyiv",))
    assert await _stored(storage, ANN) == ["Ukraine", "NATO"]
    assert _matched(index, "NATO meets in Kyiv about Ukraine") == {ANN: ("NATO", "Ukraine")}


async def test_remove_and_remove_all_forget_in_storage_and_index(storage: Storage) -> None:
    index = SubscriptionIndex()
    subscriptions = Subscriptions(storage, index)
    ann = await subscriptions.add(ANN, _queries("Ukraine", "NATO"), limit=5)
    await subscriptions.add(BOB, _queries("Ukraine", "Xi"), limit=5)
    # Another chat's id removes nothing, anywhere.
    assert await subscriptions.remove(BOB, ann.added[0].id) is None
    assert _matched(index, "Ukraine") == {ANN: ("Ukraine",), BOB: ("Ukraine",)}
    removed = await subscriptions.remove(ANN, ann.added[0].id)
    assert removed is not None
    assert removed.display == "Ukraine"
    assert await _stored(storage, ANN) == ["NATO"]
    assert _matched(index, "Ukraine and NATO") == {ANN: ("NATO",), BOB: ("Ukraine",)}
    assert [s.display for s in await subscriptions.remove_all(BOB)] == ["Ukraine", "Xi"]
    assert await _stored(storage, BOB) == []
    assert _matched(index, "Ukraine, Xi and NATO") == {ANN: ("NATO",)}
    assert len(index) == 1


async def test_move_chat_moves_storage_and_index(storage: Storage) -> None:
    index = SubscriptionIndex()
    subscriptions = Subscriptions(storage, index)
    await subscriptions.add(ANN, _queries("Ukraine", '"Joe Biden"'), limit=5)
    await subscriptions.move_chat(ANN, SUPERGROUP)
    assert await _stored(storage, ANN) == []
    assert await _stored(storage, SUPERGROUP) == ["Ukraine", '"Joe Biden"']
    assert _matched(index, "Joe Biden in Ukraine") == {SUPERGROUP: ('"Joe Biden"', "Ukraine")}


def _subscription_changes(path: Path) -> list[str]:
    """Return the storage and index calls in a module that change subscriptions."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if node.attr in STORAGE_CHANGES:
            found.append(node.attr)
        elif (
            node.attr in INDEX_CHANGES
            and isinstance(owner, ast.Attribute | ast.Name)
            and (owner.attr if isinstance(owner, ast.Attribute) else owner.id)
            in {"index", "_index"}
        ):
            found.append(f"index.{node.attr}")
    return found


def test_the_scan_sees_the_service_change_storage_and_index() -> None:
    found = set(_subscription_changes(SERVICE))
    assert {"add_subscriptions", "remove_subscription_by_id", "migrate_chat"} <= found
    assert {"index.add", "index.remove", "index.remove_chat"} <= found


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "handlers").rglob("*.py")),
    ids=lambda path: path.relative_to(ROOT).as_posix(),
)
def test_handlers_change_subscriptions_only_through_the_service(path: Path) -> None:
    assert _subscription_changes(path) == [], (
        f"{path.name} changes subscriptions by hand; use services.subscriptions"
    )
