"""The contract of subscriptions: per-user uniqueness and limit, removal, paging."""

from bot.storage import ChatSeen, ChatType, Storage
from tests.storage_contract.helpers import private


async def test_subscriptions_unique_per_user_and_limited(storage: Storage) -> None:
    await storage.register_chat(private(1), now=1.0)
    await storage.register_chat(private(2), now=1.0)
    first = await storage.add_subscriptions(
        1, [("ukraine", "Ukraine"), ("nato", "NATO")], limit=3, now=1.0
    )
    assert [s.display for s in first.added] == ["Ukraine", "NATO"]
    second = await storage.add_subscriptions(
        1, [("ukraine", "ukraine"), ("xi", "Xi"), ("kyiv", "Kyiv")], limit=3, now=2.0
    )
    assert [s.display for s in second.added] == ["Xi"]
    assert second.existing == ("ukraine",)
    assert second.over_limit == ("Kyiv",)
    other = await storage.add_subscriptions(2, [("ukraine", "UKRAINE")], limit=3, now=2.0)
    assert [s.display for s in other.added] == ["UKRAINE"]
    assert [s.display for s in await storage.list_subscriptions(1)] == ["Ukraine", "NATO", "Xi"]


async def test_removal_only_touches_the_owner(storage: Storage) -> None:
    for user_id in (1, 2):
        await storage.register_chat(private(user_id), now=1.0)
    mine = await storage.add_subscriptions(1, [("ukraine", "Ukraine")], limit=5, now=1.0)
    await storage.add_subscriptions(2, [("nato", "NATO"), ("xi", "Xi")], limit=5, now=1.0)
    assert await storage.remove_subscription_by_id(2, mine.added[0].id) is None
    assert [s.display for s in await storage.list_subscriptions(1)] == ["Ukraine"]
    removed = await storage.remove_subscription(1, "ukraine")
    assert removed is not None
    assert removed.display == "Ukraine"
    assert await storage.remove_subscription(1, "ukraine") is None
    assert len(await storage.remove_all_subscriptions(2)) == 2
    assert await storage.all_subscriptions() == []


async def test_subscriptions_are_paged_in_the_order_they_were_added(storage: Storage) -> None:
    for user_id in (1, 2):
        await storage.register_chat(private(user_id), now=1.0)
    await storage.add_subscriptions(1, [("a", "A"), ("b", "B")], limit=5, now=1.0)
    await storage.add_subscriptions(2, [("c", "C")], limit=5, now=2.0)
    first = await storage.subscription_page(0, 2)
    assert [(user, query, display) for _, user, query, display in first] == [
        (1, "a", "A"),
        (1, "b", "B"),
    ]
    rest = await storage.subscription_page(first[-1][0], 2)
    assert [(user, query) for _, user, query, _ in rest] == [(2, "c")]
    assert await storage.subscription_page(rest[-1][0], 2) == []
    assert [s.query for s in await storage.all_subscriptions()] == ["a", "b", "c"]
    assert [s.id for s in await storage.all_subscriptions()] == [row[0] for row in first + rest]


async def test_subscriptions_move_to_a_forum_topic(storage: Storage) -> None:
    forum = -1_000_000_000_001
    await storage.register_chat(ChatSeen(forum, ChatType.SUPERGROUP, "Forum"), now=1.0)
    await storage.register_chat(private(2), now=1.0)
    pairs = [("ukraine", "Ukraine"), ("nato", "NATO")]
    in_seven = (await storage.add_subscriptions(forum, pairs, 10, 1.0, thread_id=7)).added
    [in_nine] = (await storage.add_subscriptions(forum, pairs[:1], 10, 1.0, thread_id=9)).added
    [general] = (await storage.add_subscriptions(forum, [("xi", "Xi")], 10, 1.0)).added
    [others] = (await storage.add_subscriptions(2, [("kyiv", "Kyiv")], 10, 1.0)).added

    ids = [*(s.id for s in in_seven), general.id, in_nine.id, others.id]
    moved = await storage.move_subscriptions(forum, ids, 9)

    # Ukraine was in topic 9 already: the one from topic 7 merges into it.
    assert [(s.id, s.display, s.thread_id) for s in moved] == [
        (in_nine.id, "Ukraine", 9),
        (in_seven[1].id, "NATO", 9),
        (general.id, "Xi", 9),
    ]
    assert [(s.display, s.thread_id) for s in await storage.list_subscriptions(forum)] == [
        ("NATO", 9),
        ("Ukraine", 9),
        ("Xi", 9),
    ]
    assert [s.thread_id for s in await storage.list_subscriptions(2)] == [None], "not another's"
    back = await storage.move_subscriptions(forum, [general.id], None)
    assert [(s.display, s.thread_id) for s in back] == [("Xi", None)]
    assert await storage.move_subscriptions(forum, [general.id], None) == []
