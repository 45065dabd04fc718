"""The contract of users: registration, status changes, a chat moving to a new id."""

from bot.storage import Storage, UserStatus
from tests.storage_contract.helpers import T0, Db, add_feed, queue


async def test_users_and_statuses(storage: Storage) -> None:
    assert await storage.get_user(1) is None
    await storage.register_user(1, "ann", "Ann", now=1.0)
    assert await storage.set_user_status(1, UserStatus.PAUSED, now=2.0)
    user = await storage.get_user(1)
    assert user is not None
    assert user.status is UserStatus.PAUSED
    await storage.register_user(1, "ann2", "Ann", now=3.0)
    user = await storage.get_user(1)
    assert user is not None
    assert (user.status, user.username) == (UserStatus.ACTIVE, "ann2")
    assert not await storage.set_user_status(99, UserStatus.PAUSED, now=4.0)


async def test_a_status_changes_only_from_the_given_ones(storage: Storage) -> None:
    await storage.register_user(1, None, None, now=1.0)
    await storage.register_user(2, None, None, now=1.0)
    assert await storage.count_active_users() == 2
    assert not await storage.change_user_status(
        1, UserStatus.ACTIVE, now=2.0, only_from=[UserStatus.PAUSED]
    )
    assert await storage.change_user_status(
        1, UserStatus.PAUSED, now=2.0, only_from=[UserStatus.ACTIVE, UserStatus.BLOCKED]
    )
    user = await storage.get_user(1)
    assert user is not None
    assert user.status is UserStatus.PAUSED
    assert not await storage.change_user_status(
        99, UserStatus.PAUSED, now=3.0, only_from=[UserStatus.ACTIVE]
    )
    assert await storage.count_active_users() == 1


async def test_a_chat_moved_to_a_new_id_keeps_subscriptions_and_pending_rows(db: Db) -> None:
    group, supergroup = -100, -1_000_000_100
    await db.storage.register_user(group, None, "Team", now=T0)
    await db.storage.add_subscriptions(
        group, [("ukraine", "Ukraine"), ("nato", "NATO")], limit=5, now=T0
    )
    feed = await add_feed(db)
    [row] = await queue(db, feed, group, 1)

    moved = await db.storage.migrate_chat(group, supergroup, now=T0 + 1)

    assert {(s.user_id, s.display) for s in moved} == {
        (supergroup, "Ukraine"),
        (supergroup, "NATO"),
    }
    assert await db.storage.list_subscriptions(group) == []
    assert await db.storage.get_user(group) is None
    user = await db.storage.get_user(supergroup)
    assert user is not None
    assert (user.first_name, user.status) == ("Team", UserStatus.ACTIVE)
    [item] = await db.storage.load_outbox([row])
    assert item.user_id == supergroup
    assert [pending.user_id for pending in await db.storage.pending_outbox()] == [supergroup]


async def test_a_chat_moved_onto_a_known_chat_keeps_one_copy_of_each_query(db: Db) -> None:
    group, supergroup = -100, -1_000_000_100
    for chat in (group, supergroup):
        await db.storage.register_user(chat, None, None, now=T0)
    await db.storage.add_subscriptions(
        group, [("ukraine", "Ukraine"), ("nato", "NATO")], limit=5, now=T0
    )
    await db.storage.add_subscriptions(supergroup, [("ukraine", "UKRAINE")], limit=5, now=T0)

    moved = await db.storage.migrate_chat(group, supergroup, now=T0 + 1)

    assert sorted(s.display for s in moved) == ["NATO", "UKRAINE"]
    assert await db.storage.get_user(group) is None
    assert await db.storage.list_subscriptions(group) == []
