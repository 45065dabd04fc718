"""The contract of the outbox: pending rows, what a send needs, recorded outcomes."""

from datetime import UTC, datetime

from bot.storage import ChatStatus, Delivery
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    T0,
    Db,
    add_feed,
    candidate,
    everyone,
    queue,
    save,
)


async def test_pending_outbox_lists_pending_rows_after_an_id(db: Db) -> None:
    feed = await add_feed(db)
    ann = await queue(db, feed, ANN, 3)
    bob = await queue(db, feed, BOB, 2)
    every = await db.storage.pending_outbox()
    assert [row.id for row in every] == ann + bob
    assert [row.chat_id for row in every] == [ANN] * 3 + [BOB] * 2
    assert {row.kind for row in every} == {"alert"}
    assert all(row.next_attempt_at == 0 for row in every)
    assert [row.id for row in await db.storage.pending_outbox(after_id=ann[-1])] == bob
    assert await db.storage.pending_outbox(after_id=bob[-1]) == []

    await db.storage.record_deliveries(
        [
            Delivery(ann[0], ANN, "sent", 1),
            Delivery(ann[1], ANN, "pending", 1, next_attempt_at=T0 + 30, error="Bad Gateway"),
        ],
        now=T0,
    )
    pending = await db.storage.pending_outbox()
    assert [row.id for row in pending] == ann[1:] + bob
    assert pending[0].next_attempt_at == T0 + 30


async def test_load_outbox_returns_what_a_message_needs(db: Db) -> None:
    feed = await add_feed(db)
    [row_id] = await queue(db, feed, ANN, 1)
    [item] = await db.storage.load_outbox([row_id, 999_999])
    assert item.id == row_id
    assert item.kind == "alert"
    assert item.chat_id == ANN
    assert item.chat_status is ChatStatus.ACTIVE
    assert item.status == "pending"
    assert item.attempts == 0
    assert item.title.startswith("Ukraine story for")
    assert item.link is not None
    assert item.link.startswith("https://")
    assert item.summary is not None
    assert item.summary.startswith("Summary of")
    assert item.published == datetime.fromtimestamp(T0, UTC)
    assert item.source == f"Feed {feed.id}"
    assert item.matched == ("Ukraine",)
    assert await db.storage.load_outbox([]) == []
    await db.storage.set_chat_status(ANN, ChatStatus.PAUSED, now=T0)
    [paused] = await db.storage.load_outbox([row_id])
    assert paused.chat_status is ChatStatus.PAUSED


async def test_record_deliveries_writes_each_outcome(db: Db) -> None:
    feed = await add_feed(db)
    sent, failed, retry, dropped = await queue(db, feed, ANN, 4)
    await db.storage.record_deliveries(
        [
            Delivery(sent, ANN, "sent", 1),
            Delivery(failed, ANN, "failed", 1, error="Chat not found"),
            Delivery(retry, ANN, "pending", 2, next_attempt_at=T0 + 8, error="Bad Gateway"),
            Delivery(dropped, ANN, "dropped", 0, error="user is paused"),
        ],
        now=T0 + 5,
    )
    rows = {row["id"]: row for row in db.outbox()}
    assert (rows[sent]["status"], rows[sent]["attempts"], rows[sent]["sent_at"]) == (
        "sent",
        1,
        T0 + 5,
    )
    assert (rows[failed]["status"], rows[failed]["error"]) == ("failed", "Chat not found")
    assert rows[failed]["sent_at"] is None
    assert (rows[retry]["status"], rows[retry]["attempts"]) == ("pending", 2)
    assert rows[retry]["next_attempt_at"] == T0 + 8
    assert rows[retry]["sent_at"] is None
    assert rows[dropped]["status"] == "dropped"
    assert await db.storage.outbox_counts() == {"sent": 1, "failed": 1, "pending": 1, "dropped": 1}


async def test_a_blocked_user_loses_their_pending_rows_only(db: Db) -> None:
    feed = await add_feed(db)
    ann_sent, ann_blocked, *ann_rest = await queue(db, feed, ANN, 4)
    bob = await queue(db, feed, BOB, 2)
    await db.storage.record_deliveries([Delivery(ann_sent, ANN, "sent", 1)], now=T0)

    await db.storage.record_deliveries(
        [
            Delivery(
                ann_blocked,
                ANN,
                "failed",
                1,
                error="Forbidden: bot was blocked by the user",
                chat_blocked=True,
            )
        ],
        now=T0 + 1,
    )

    user = await db.storage.get_chat(ANN)
    assert user is not None
    assert user.status is ChatStatus.BLOCKED
    rows = {row["id"]: row for row in db.outbox()}
    assert rows[ann_sent]["status"] == "sent", "history is kept"
    assert rows[ann_blocked]["error"] == "Forbidden: bot was blocked by the user"
    for row_id in ann_rest:
        assert rows[row_id]["status"] not in ("pending", "sent")
        assert rows[row_id]["sent_at"] is None
    assert [row.id for row in await db.storage.pending_outbox()] == bob
    bob_user = await db.storage.get_chat(BOB)
    assert bob_user is not None
    assert bob_user.status is ChatStatus.ACTIVE


async def test_record_deliveries_of_nothing_is_a_no_op(db: Db) -> None:
    await db.storage.record_deliveries([], now=T0)
    assert await db.storage.outbox_counts() == {}


async def test_drop_pending_for_user(db: Db) -> None:
    feed = await add_feed(db)
    first, _ = await queue(db, feed, ANN, 2)
    bob = await queue(db, feed, BOB, 1)
    await db.storage.record_deliveries([Delivery(first, ANN, "sent", 1)], now=T0)
    assert await db.storage.drop_pending_for_chat(ANN, "user paused") == 1
    assert [row.id for row in await db.storage.pending_outbox()] == bob
    assert await db.storage.outbox_counts() == {"sent": 1, "dropped": 1, "pending": 1}


async def test_pending_digest_lists_a_users_digest_lines_oldest_first(db: Db) -> None:
    feed = await add_feed(db)
    stories = [candidate(feed, f"Ukraine update {n}") for n in range(4)]
    await save(db, feed, *stories, match=everyone(ANN, BOB), burst_limit=1)
    digest = await db.storage.pending_digest(ANN, T0)
    assert [item.title for item in digest] == [f"Ukraine update {n}" for n in range(1, 4)]
    assert {(item.kind, item.chat_id, item.status) for item in digest} == {
        ("digest", ANN, "pending")
    }
    await db.storage.record_deliveries(
        [Delivery(item.id, ANN, "sent", 1) for item in digest], now=T0 + 1
    )
    assert await db.storage.pending_digest(ANN, T0) == []
    assert len(await db.storage.pending_digest(BOB, T0)) == 3
