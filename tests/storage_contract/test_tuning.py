"""The contract of tuning: mutes, hidden feeds, the alert a button names, and what a claim
reads of them (a claim at a time within a mute, or of a hidden feed, sends nothing)."""

from bot.storage import ChatWork, ClaimPlan
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    HOUR,
    T0,
    Audience,
    Db,
    add_feed,
    candidate,
    everyone,
    save,
    subscribe,
)


async def _ann_ukraine(db: Db) -> int:
    await subscribe(db, everyone(ANN))
    [subscription] = await db.storage.list_subscriptions(ANN)
    return subscription.id


async def test_a_mute_is_the_chats_own_and_lasts_until_its_end(db: Db) -> None:
    sub_id = await _ann_ukraine(db)
    assert await db.storage.mute_subscription(BOB, sub_id, T0 + HOUR) is None, "not Bob's"
    assert await db.storage.muted_subscriptions(ANN, T0) == []
    muted = await db.storage.mute_subscription(ANN, sub_id, T0 + HOUR)
    assert muted is not None and muted.display == "Ukraine"
    [listed] = await db.storage.muted_subscriptions(ANN, T0)
    assert (listed.subscription.id, listed.until) == (sub_id, T0 + HOUR)
    assert await db.storage.muted_subscriptions(ANN, T0 + HOUR) == [], "ended"
    assert await db.storage.muted_subscriptions(BOB, T0) == []
    await db.storage.mute_subscription(ANN, sub_id, None)
    assert await db.storage.muted_subscriptions(ANN, T0) == []


async def test_hidden_feeds_are_per_chat_and_shown_again(db: Db) -> None:
    bbc, rt = await add_feed(db, "bbc"), await add_feed(db, "rt")
    assert await db.storage.hide_feed(ANN, rt.id, T0)
    assert not await db.storage.hide_feed(ANN, rt.id, T0 + 1), "already hidden"
    assert not await db.storage.hide_feed(ANN, 999_999, T0), "no such feed"
    assert await db.storage.hide_feed(ANN, bbc.id, T0 + 2)
    assert [f.feed_id for f in await db.storage.hidden_feeds(ANN)] == [rt.id, bbc.id]
    assert [f.url for f in await db.storage.hidden_feeds(ANN)] == [rt.url, bbc.url]
    assert await db.storage.hidden_feeds(BOB) == []
    assert not await db.storage.show_feed(BOB, rt.id), "Bob never hid it"
    assert await db.storage.show_feed(ANN, rt.id)
    assert not await db.storage.show_feed(ANN, rt.id)
    assert [f.feed_id for f in await db.storage.hidden_feeds(ANN)] == [bbc.id]


async def test_a_removed_feed_is_no_longer_hidden(db: Db) -> None:
    rt = await add_feed(db, "rt")
    await db.storage.hide_feed(ANN, rt.id, T0)
    await db.storage.remove_feed(rt.id)
    assert await db.storage.hidden_feeds(ANN) == []


async def test_the_alert_a_button_names_is_the_chats_own(db: Db) -> None:
    feed = await add_feed(db, "bbc")
    await save(db, feed, candidate(feed, "Ukraine one"), match=everyone(ANN))
    [match_row] = db.outbox()
    story_id = int(match_row["story_id"])
    alert = await db.storage.sent_alert(ANN, story_id)
    assert alert is not None
    assert (alert.story_id, alert.feed_id, alert.matched) == (story_id, feed.id, ("Ukraine",))
    assert alert.source == f"Feed {feed.id}"
    assert await db.storage.sent_alert(BOB, story_id) is None, "never sent to Bob"
    assert await db.storage.sent_alert(ANN, story_id + 1000) is None
    # Sent to the chat itself, not to a forum topic of it: a button in topic 7 names none.
    assert await db.storage.sent_alert(ANN, story_id, None) == alert
    assert await db.storage.sent_alert(ANN, story_id, 7) is None


async def test_a_claim_reads_the_mutes_and_hidden_feeds_and_matches_name_their_feed(
    db: Db,
) -> None:
    sub_id = await _ann_ukraine(db)
    feed = await add_feed(db, "rt")
    await db.storage.mute_subscription(ANN, sub_id, T0 + HOUR)
    await db.storage.hide_feed(ANN, feed.id, T0)
    await save(db, feed, candidate(feed, "Ukraine one"), match=everyone(ANN), deliver=False)
    [match] = await db.storage.story_matches(0, 10)
    assert match.feed_id == feed.id
    seen: list[ChatWork] = []

    def plan(work: ChatWork) -> ClaimPlan:
        seen.append(work)
        return ClaimPlan((), match.id)

    await db.storage.claim_chat(ANN, plan, T0)
    [work] = seen
    assert [s.muted_until for s in work.subscriptions] == [T0 + HOUR]
    assert work.hidden_feeds == frozenset({feed.id})


async def test_a_muted_query_or_hidden_feed_queues_nothing_and_nothing_later(db: Db) -> None:
    sub_id = await _ann_ukraine(db)
    bbc, rt = await add_feed(db, "bbc"), await add_feed(db, "rt")
    audience = Audience({ANN: ("Ukraine",)})
    await db.storage.mute_subscription(ANN, sub_id, T0 + HOUR)
    await save(db, bbc, candidate(bbc, "Ukraine muted"), match=audience, now=T0)
    await db.storage.hide_feed(ANN, rt.id, T0)
    later = T0 + 2 * HOUR
    await save(db, rt, candidate(rt, "Ukraine hidden"), match=audience, now=later)
    await save(db, bbc, candidate(bbc, "Ukraine after"), match=audience, now=later)
    assert db.alerts() == [(ANN, "Ukraine after")]
