"""The contract of chats' delivery schedules: stored per chat, read by claims, and what a
schedule holds re-timed when it changes."""

from datetime import UTC, datetime

from bot.delivery.schedule import held_until
from bot.storage import ChatSchedule, ChatSeen, ChatType
from tests.storage_contract.helpers import ANN, BOB, T0, Db, add_feed, candidate, save

# T0 is 2023-11-14 22:13 UTC: 00:13 in Kyiv (EET), inside 23:00-07:00.
QUIET_KYIV = ChatSchedule("Europe/Kyiv", quiet=(23 * 60, 7 * 60))
DIGESTS = ChatSchedule("UTC+02:00", digest_times=(8 * 60, 18 * 60))


async def test_a_chat_without_a_schedule_has_the_default_one(db: Db) -> None:
    assert await db.storage.get_schedule(ANN) == ChatSchedule()
    assert await db.storage.get_schedule(999) == ChatSchedule()


async def test_a_schedule_is_stored_per_chat_and_replaced_whole(db: Db) -> None:
    assert await db.storage.save_schedule(ANN, QUIET_KYIV, release_held_at=T0, now=T0)
    assert await db.storage.get_schedule(ANN) == QUIET_KYIV
    assert await db.storage.get_schedule(BOB) == ChatSchedule()
    assert await db.storage.save_schedule(ANN, DIGESTS, release_held_at=T0, now=T0)
    assert await db.storage.get_schedule(ANN) == DIGESTS


async def test_an_unknown_chat_stores_no_schedule(db: Db) -> None:
    assert not await db.storage.save_schedule(999, QUIET_KYIV, release_held_at=T0, now=T0)
    assert await db.storage.get_schedule(999) == ChatSchedule()


async def test_a_held_chats_claim_queues_digest_lines_due_at_the_release(db: Db) -> None:
    await db.storage.save_schedule(ANN, QUIET_KYIV, release_held_at=T0, now=T0)
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine one"), candidate(feed, "Ukraine two"))
    release = held_until(T0, QUIET_KYIV)
    assert release == datetime(2023, 11, 15, 5, 0, tzinfo=UTC).timestamp()  # 07:00 in Kyiv
    rows = [row for row in await db.storage.pending_outbox() if row.chat_id == ANN]
    assert [(row.kind, row.next_attempt_at) for row in rows] == [("digest", release)] * 2
    assert await db.storage.pending_digest(ANN, release - 1) == []
    due = await db.storage.pending_digest(ANN, release)
    assert [item.title for item in due] == ["Ukraine one", "Ukraine two"]
    assert {item.next_attempt_at for item in due} == {release}


async def test_changing_a_schedule_re_times_only_the_held_lines(db: Db) -> None:
    await db.storage.save_schedule(ANN, QUIET_KYIV, release_held_at=T0, now=T0)
    feed = await add_feed(db)
    await save(db, feed, candidate(feed, "Ukraine held"))
    release = held_until(T0, QUIET_KYIV)
    assert release is not None
    # Quiet hours off, a minute later: what was held is due now.
    assert await db.storage.save_schedule(
        ANN, ChatSchedule("Europe/Kyiv"), release_held_at=T0 + 60, now=T0 + 60
    )
    [row] = [row for row in await db.storage.pending_outbox() if row.chat_id == ANN]
    assert row.next_attempt_at == T0 + 60
    [item] = await db.storage.pending_digest(ANN, T0 + 60)
    assert item.title == "Ukraine held"


async def test_a_chat_moved_to_a_new_id_keeps_its_schedule(db: Db) -> None:
    group, supergroup = -100, -1_000_000_100
    await db.storage.register_chat(ChatSeen(group, ChatType.GROUP, "Team"), now=T0)
    await db.storage.save_schedule(group, DIGESTS, release_held_at=T0, now=T0)
    await db.storage.migrate_chat(group, supergroup, now=T0 + 1)
    assert await db.storage.get_schedule(supergroup) == DIGESTS
    assert await db.storage.get_schedule(group) == ChatSchedule()
