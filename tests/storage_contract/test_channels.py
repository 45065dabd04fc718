"""The contract of linked channels: linking registers the channel, lookups by id and
@username, who linked what, unlinking, the "Matched" line setting."""

from bot.storage import ChatSeen, ChatStatus, ChatType, Storage
from tests.storage_contract.helpers import T0, Db, add_feed, queue

NEWS, OTHER = -1_001_000_000_001, -1_001_000_000_002
ANN, BOB = 11, 12


def channel(chat_id: int = NEWS, username: str | None = "NewsDesk") -> ChatSeen:
    return ChatSeen(chat_id, ChatType.CHANNEL, "News Desk", username, "uk")


async def test_linking_registers_an_active_channel_found_by_id_and_username(
    storage: Storage,
) -> None:
    linked = await storage.link_channel(channel(), ANN, now=5.0)
    assert (linked.chat.id, linked.chat.type, linked.chat.status) == (
        NEWS,
        ChatType.CHANNEL,
        ChatStatus.ACTIVE,
    )
    assert (linked.linked_by, linked.created_at, linked.show_matched) == (ANN, 5.0, False)
    assert linked.chat.language == "uk"
    assert await storage.get_channel(NEWS) == linked
    assert await storage.channel_by_username("newsdesk") == linked
    assert await storage.channel_by_username("NEWSDESK") == linked
    assert await storage.channel_by_username("other") is None
    assert await storage.get_channel(OTHER) is None


async def test_a_chat_that_is_not_linked_is_no_channel(storage: Storage) -> None:
    await storage.register_chat(ChatSeen(ANN, ChatType.PRIVATE, "Ann", "NewsDesk"), now=1.0)
    assert await storage.get_channel(ANN) is None
    assert await storage.channel_by_username("NewsDesk") is None


async def test_relinking_reactivates_and_names_the_new_linker_keeping_the_rest(
    storage: Storage,
) -> None:
    await storage.link_channel(channel(), ANN, now=5.0)
    assert await storage.set_channel_matched_line(NEWS, True)
    await storage.set_chat_status(NEWS, ChatStatus.BLOCKED, now=6.0)
    again = await storage.link_channel(channel(username="Renamed"), BOB, now=7.0)
    assert (again.linked_by, again.created_at, again.show_matched) == (BOB, 5.0, True)
    assert (again.chat.status, again.chat.username) == (ChatStatus.ACTIVE, "Renamed")


async def test_channels_linked_by_a_user_oldest_first(storage: Storage) -> None:
    await storage.link_channel(channel(OTHER, "second"), ANN, now=9.0)
    await storage.link_channel(channel(NEWS), ANN, now=5.0)
    await storage.link_channel(channel(-1_001_000_000_003, "bobs"), BOB, now=6.0)
    assert [c.chat.id for c in await storage.channels_linked_by(ANN)] == [NEWS, OTHER]
    assert await storage.channels_linked_by(99) == []


async def test_unlinking_and_the_matched_line(storage: Storage) -> None:
    assert not await storage.set_channel_matched_line(NEWS, True)
    await storage.link_channel(channel(), ANN, now=5.0)
    assert await storage.set_channel_matched_line(NEWS, True)
    linked = await storage.get_channel(NEWS)
    assert linked is not None and linked.show_matched
    assert await storage.unlink_channel(NEWS)
    assert not await storage.unlink_channel(NEWS)
    assert await storage.get_channel(NEWS) is None
    assert await storage.get_chat(NEWS) is not None, "the chat's row stays"


async def test_a_channels_rows_are_paced_as_a_channel_and_hide_the_matched_line(db: Db) -> None:
    await db.storage.link_channel(channel(), ANN, now=T0)
    await db.storage.add_subscriptions(NEWS, [("ukraine", "Ukraine")], limit=5, now=T0)
    feed = await add_feed(db)
    [row] = await queue(db, feed, NEWS, 1)
    [pending] = await db.storage.pending_outbox()
    assert (pending.id, pending.chat_type) == (row, ChatType.CHANNEL)
    [item] = await db.storage.load_outbox([row])
    assert (item.chat_type, item.show_matched) == (ChatType.CHANNEL, False)
    await db.storage.set_channel_matched_line(NEWS, True)
    [item] = await db.storage.load_outbox([row])
    assert item.show_matched
