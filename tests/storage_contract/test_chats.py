"""The contract of chats: registration, type, title and language, status changes, a chat
moving to a new id."""

from bot.storage import Chat, ChatSeen, ChatStatus, ChatType, Storage
from tests.storage_contract.helpers import T0, Db, add_feed, private, queue

T1 = T0 + 60


async def test_chats_and_statuses(storage: Storage) -> None:
    assert await storage.get_chat(1) is None
    await storage.register_chat(private(1, "Ann", "ann"), now=1.0)
    assert await storage.set_chat_status(1, ChatStatus.PAUSED, now=2.0)
    chat = await storage.get_chat(1)
    assert chat is not None
    assert chat.status is ChatStatus.PAUSED
    await storage.register_chat(private(1, "Ann", "ann2"), now=3.0)
    chat = await storage.get_chat(1)
    assert chat is not None
    assert (chat.status, chat.username) == (ChatStatus.ACTIVE, "ann2")
    assert not await storage.set_chat_status(99, ChatStatus.PAUSED, now=4.0)


async def test_a_status_changes_only_from_the_given_ones(storage: Storage) -> None:
    await storage.register_chat(private(1), now=1.0)
    await storage.register_chat(private(2), now=1.0)
    assert await storage.count_active_chats() == 2
    assert not await storage.change_chat_status(
        1, ChatStatus.ACTIVE, now=2.0, only_from=[ChatStatus.PAUSED]
    )
    assert await storage.change_chat_status(
        1, ChatStatus.PAUSED, now=2.0, only_from=[ChatStatus.ACTIVE, ChatStatus.BLOCKED]
    )
    chat = await storage.get_chat(1)
    assert chat is not None
    assert chat.status is ChatStatus.PAUSED
    assert not await storage.change_chat_status(
        99, ChatStatus.PAUSED, now=3.0, only_from=[ChatStatus.ACTIVE]
    )
    assert await storage.count_active_chats() == 1


async def test_a_chat_moved_to_a_new_id_keeps_subscriptions_and_pending_rows(db: Db) -> None:
    group, supergroup = -100, -1_000_000_100
    await db.storage.register_chat(ChatSeen(group, ChatType.GROUP, "Team"), now=T0)
    await db.storage.add_subscriptions(
        group, [("ukraine", "Ukraine"), ("nato", "NATO")], limit=5, now=T0
    )
    feed = await add_feed(db)
    [row] = await queue(db, feed, group, 1)

    moved = await db.storage.migrate_chat(group, supergroup, now=T0 + 1)

    assert {(s.chat_id, s.display) for s in moved} == {
        (supergroup, "Ukraine"),
        (supergroup, "NATO"),
    }
    assert await db.storage.list_subscriptions(group) == []
    assert await db.storage.get_chat(group) is None
    chat = await db.storage.get_chat(supergroup)
    assert chat is not None
    assert (chat.type, chat.title, chat.status) == (
        ChatType.SUPERGROUP,
        "Team",
        ChatStatus.ACTIVE,
    )
    [item] = await db.storage.load_outbox([row])
    assert item.chat_id == supergroup
    assert [pending.chat_id for pending in await db.storage.pending_outbox()] == [supergroup]


async def test_a_chat_moved_onto_a_known_chat_keeps_one_copy_of_each_query(db: Db) -> None:
    group, supergroup = -100, -1_000_000_100
    for chat in (group, supergroup):
        await db.storage.register_chat(ChatSeen(chat, ChatType.GROUP, None), now=T0)
    await db.storage.add_subscriptions(
        group, [("ukraine", "Ukraine"), ("nato", "NATO")], limit=5, now=T0
    )
    await db.storage.add_subscriptions(supergroup, [("ukraine", "UKRAINE")], limit=5, now=T0)

    moved = await db.storage.migrate_chat(group, supergroup, now=T0 + 1)

    assert sorted(s.display for s in moved) == ["NATO", "UKRAINE"]
    assert await db.storage.get_chat(group) is None
    assert await db.storage.list_subscriptions(group) == []


async def test_a_chat_is_stored_with_its_type_title_username_and_language(
    storage: Storage,
) -> None:
    seen = [
        ChatSeen(1, ChatType.PRIVATE, "Ann", "ann", "uk"),
        ChatSeen(-5, ChatType.GROUP, "Team", None, None),
        ChatSeen(-1_000_000_000_007, ChatType.SUPERGROUP, "Newsroom", "newsroom", "en-GB"),
        ChatSeen(-1_000_000_000_008, ChatType.CHANNEL, "Wire", "wire", None),
    ]
    for each in seen:
        registered = await storage.register_chat(each, now=T0)
        assert registered == Chat(
            each.id, each.type, each.title, each.username, each.language, ChatStatus.ACTIVE, T0
        )
        assert await storage.get_chat(each.id) == registered


async def test_a_chat_title_is_kept_current_and_its_status_left_alone(storage: Storage) -> None:
    await storage.register_chat(ChatSeen(-5, ChatType.GROUP, "Team", None, "en"), now=T0)
    await storage.set_chat_status(-5, ChatStatus.PAUSED, now=T0)

    renamed = ChatSeen(-5, ChatType.GROUP, "Team (news)", "teamnews")
    assert await storage.update_chat(renamed, now=T0 + 1)
    assert not await storage.update_chat(ChatSeen(-6, ChatType.GROUP, "Other"), now=T0 + 1)

    assert await storage.get_chat(-5) == Chat(
        -5, ChatType.GROUP, "Team (news)", "teamnews", "en", ChatStatus.PAUSED, T0
    )
    assert await storage.get_chat(-6) is None


async def test_the_language_of_first_contact_is_kept(storage: Storage) -> None:
    await storage.register_chat(ChatSeen(1, ChatType.PRIVATE, "Ann", None, "uk"), now=T0)
    again = await storage.register_chat(ChatSeen(1, ChatType.PRIVATE, "Ann", None, "ru"), now=T1)
    assert again.language == "uk"
    await storage.register_chat(ChatSeen(2, ChatType.PRIVATE, "Bob", None, None), now=T0)
    later = await storage.register_chat(ChatSeen(2, ChatType.PRIVATE, "Bob", None, "en"), now=T1)
    assert later.language == "en", "an unknown language is learnt when Telegram tells it"


async def test_a_subscription_carries_its_forum_topic(storage: Storage) -> None:
    await storage.register_chat(ChatSeen(-9, ChatType.SUPERGROUP, "Forum"), now=T0)
    general = await storage.add_subscriptions(-9, [("nato", "NATO")], limit=5, now=T0)
    topic = await storage.add_subscriptions(
        -9, [("nato", "NATO"), ("xi", "Xi")], limit=5, now=T0, thread_id=42
    )
    again = await storage.add_subscriptions(-9, [("xi", "XI")], limit=5, now=T0, thread_id=42)

    assert [s.thread_id for s in general.added] == [None]
    assert [(s.display, s.thread_id) for s in topic.added] == [("NATO", 42), ("Xi", 42)]
    assert (again.added, again.existing) == ((), ("XI",))
    stored = await storage.list_subscriptions(-9)
    assert [(s.query, s.thread_id) for s in stored] == [
        ("nato", None),
        ("nato", 42),
        ("xi", 42),
    ]


async def test_a_chosen_language_replaces_the_first_contacts_and_is_kept(storage: Storage) -> None:
    await storage.register_chat(ChatSeen(1, ChatType.PRIVATE, "Ann", None, "en-US"), now=T0)
    assert await storage.set_chat_language(1, "uk", now=T1)
    chat = await storage.get_chat(1)
    assert chat is not None
    assert (chat.language, chat.status) == ("uk", ChatStatus.ACTIVE)
    again = await storage.register_chat(ChatSeen(1, ChatType.PRIVATE, "Ann", None, "en"), T1)
    assert again.language == "uk", "/start does not undo the chat's own choice"
    assert not await storage.set_chat_language(99, "ru", now=T1)
    assert await storage.get_chat(99) is None


async def test_a_chat_moved_to_a_new_id_keeps_its_language(db: Db) -> None:
    group, supergroup = -100, -1_000_000_100
    await db.storage.register_chat(ChatSeen(group, ChatType.GROUP, "Team", None, "en"), T0)
    await db.storage.set_chat_language(group, "ru", now=T0)
    feed = await add_feed(db)
    [row] = await queue(db, feed, group, 1)
    await db.storage.migrate_chat(group, supergroup, now=T1)
    chat = await db.storage.get_chat(supergroup)
    assert chat is not None
    assert chat.language == "ru"
    [item] = await db.storage.load_outbox([row])
    assert item.chat_language == "ru", "a row carries its chat's language to the renderer"
