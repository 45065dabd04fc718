"""The contract of broadcasts: a draft, confirmed once by its admin, progress, done."""

from bot.storage import BroadcastStatus, ChatStatus, Delivery
from tests.storage_contract.helpers import ANN, BOB, CAROL, T0, Db

ADMIN = 42
OTHER_ADMIN = 43


async def test_a_broadcast_is_confirmed_once_by_its_admin_and_reaches_active_users(
    db: Db,
) -> None:
    await db.storage.set_chat_status(CAROL, ChatStatus.PAUSED, now=T0)
    draft = await db.storage.create_broadcast(ADMIN, "Hello everyone", now=T0)
    assert (draft.status, draft.recipients, draft.text) == (
        BroadcastStatus.DRAFT,
        0,
        "Hello everyone",
    )
    assert await db.storage.count_active_chats() == 2
    assert await db.storage.confirm_broadcast(draft.id, OTHER_ADMIN, now=T0 + 1) is None

    recipients = await db.storage.confirm_broadcast(
        draft.id, ADMIN, now=T0 + 1, status_chat_id=ADMIN, status_message_id=77
    )

    assert recipients == 2
    assert await db.storage.confirm_broadcast(draft.id, ADMIN, now=T0 + 2) is None, "once"
    sending = await db.storage.get_broadcast(draft.id)
    assert sending is not None
    assert (sending.status, sending.recipients) == (BroadcastStatus.SENDING, 2)
    assert (sending.status_chat_id, sending.status_message_id) == (ADMIN, 77)
    assert [b.id for b in await db.storage.broadcasts_in_progress()] == [draft.id]
    assert await db.storage.broadcast_progress(draft.id) == {"pending": 2}
    pending = await db.storage.pending_outbox()
    assert [(row.chat_id, row.kind) for row in pending] == [(ANN, "broadcast"), (BOB, "broadcast")]
    items = await db.storage.load_outbox([row.id for row in pending])
    assert {(item.text, item.broadcast_id) for item in items} == {("Hello everyone", draft.id)}

    await db.storage.record_deliveries(
        [Delivery(row.id, row.chat_id, "sent", 1) for row in pending], now=T0 + 3
    )
    assert await db.storage.broadcast_progress(draft.id) == {"sent": 2}
    assert await db.storage.finish_broadcast(draft.id, now=T0 + 4)
    # Every instance runs the progress job: only the first to finish it reports it.
    assert not await db.storage.finish_broadcast(draft.id, now=T0 + 5)
    done = await db.storage.get_broadcast(draft.id)
    assert done is not None
    assert done.status is BroadcastStatus.DONE
    assert await db.storage.broadcasts_in_progress() == []
    assert not await db.storage.cancel_broadcast(draft.id, ADMIN), "no longer a draft"


async def test_a_draft_is_cancelled_only_by_its_admin(db: Db) -> None:
    draft = await db.storage.create_broadcast(ADMIN, "Hello", now=T0)
    assert not await db.storage.cancel_broadcast(draft.id, OTHER_ADMIN)
    assert await db.storage.cancel_broadcast(draft.id, ADMIN)
    assert not await db.storage.cancel_broadcast(draft.id, ADMIN)
    cancelled = await db.storage.get_broadcast(draft.id)
    assert cancelled is not None
    assert cancelled.status is BroadcastStatus.CANCELLED
    assert await db.storage.confirm_broadcast(draft.id, ADMIN, now=T0 + 1) is None
    assert await db.storage.pending_outbox() == []
    assert await db.storage.get_broadcast(draft.id + 1) is None
