"""The contract of /stats figures."""

from bot.storage import ChatStatus, Delivery
from tests.storage_contract.helpers import ANN, BOB, HOUR, T0, Db, add_feed, candidate, save


async def test_stats_count_users_queries_feeds_stories_and_alerts(db: Db) -> None:
    await db.storage.set_chat_status(BOB, ChatStatus.PAUSED, now=T0)
    await db.storage.add_subscriptions(
        ANN, [("ukraine", "Ukraine"), ("nato", "NATO")], limit=5, now=T0
    )
    await db.storage.add_subscriptions(BOB, [("ukraine", "Ukraine")], limit=5, now=T0)
    a, b = await add_feed(db, "a"), await add_feed(db, "b")
    await db.storage.record_poll_failure(b.id, "HTTP 500", T0 + 60, T0)
    # Both stories match "ukraine": ANN gets two rows, BOB (paused) none.
    await save(db, a, candidate(a, "Ukraine one"), candidate(a, "Ukraine two"))
    sent, _ = [row["id"] for row in db.outbox()]
    await db.storage.record_deliveries([Delivery(sent, ANN, "sent", 1)], now=T0 + 5)

    stats = await db.storage.stats(now=T0 + HOUR)

    assert stats.chats == {"active": 2, "paused": 1}
    assert stats.subscriptions == 3
    assert stats.top_queries == [("Ukraine", 2), ("NATO", 1)]
    assert (stats.feeds, stats.failing_feeds) == (2, 1)
    assert (stats.stories_24h, stats.alerts_24h) == (2, 1)
    assert (stats.pending, stats.oldest_pending_at) == (1, T0)
    assert stats.database_bytes >= stats.free_bytes >= 0
    later = await db.storage.stats(now=T0 + 25 * HOUR, top=1)
    assert (later.stories_24h, later.alerts_24h) == (0, 0)
    assert later.top_queries == [("Ukraine", 2)]
