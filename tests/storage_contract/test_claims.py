"""The contract of fan-out on read: stored matches, a chat's claim, the watermark."""

import pytest

from bot.storage import ChatSeen, ChatStatus, ChatType, ChatWork, ClaimPlan, Lane, PlannedRow
from tests.storage_contract.helpers import (
    ANN,
    BOB,
    T0,
    Audience,
    Db,
    add_feed,
    candidate,
    everyone,
    fan_out,
    private,
    save,
)


async def _poll(db: Db, *titles: str, audience: Audience | None = None, now: float = T0) -> None:
    """Save a poll whose stories match "ukraine", without fanning out."""
    feed = await add_feed(db, f"f{now}")
    stories = [candidate(feed, title) for title in titles]
    await save(db, feed, *stories, now=now, match=audience or everyone(ANN, BOB), deliver=False)


async def test_a_poll_stores_one_match_row_per_story_whatever_the_audience(db: Db) -> None:
    await _poll(db, "Ukraine one", "Ukraine two")
    matches = await db.storage.story_matches(0, 100)
    assert [m.queries for m in matches] == [("ukraine",), ("ukraine",)]
    assert [m.id for m in matches] == sorted(m.id for m in matches)
    assert db.outbox() == [], "no row per chat at poll time"
    assert [m.id for m in await db.storage.story_matches(matches[0].id, 100)] == [matches[1].id]


async def test_a_claim_queues_the_plan_and_moves_the_cursor_once(db: Db) -> None:
    await _poll(db, "Ukraine one")
    [match] = await db.storage.story_matches(0, 10)
    seen: list[ChatWork] = []

    def plan(work: ChatWork) -> ClaimPlan:
        seen.append(work)
        rows = (
            ()
            if work.cursor >= match.id
            else (PlannedRow(Lane.ALERT, match.story_id, ("Ukraine",), None),)
        )
        return ClaimPlan(rows, match.id)

    first = await db.storage.claim_chat(ANN, plan, T0)
    again = await db.storage.claim_chat(ANN, plan, T0)
    assert [row.kind for row in first.rows] == ["alert"]
    assert again.rows == ()
    assert [w.cursor for w in seen] == [0, match.id]
    assert [(s.query, s.display) for s in seen[0].subscriptions] == [("ukraine", "Ukraine")]
    assert db.alerts() == [(ANN, "Ukraine one")]


async def test_the_same_story_is_never_queued_twice_for_a_chat(db: Db) -> None:
    await _poll(db, "Ukraine one")
    [match] = await db.storage.story_matches(0, 10)

    def plan(work: ChatWork) -> ClaimPlan:
        return ClaimPlan((PlannedRow(Lane.ALERT, match.story_id, ("Ukraine",), None),), 0)

    assert len((await db.storage.claim_chat(ANN, plan, T0)).rows) == 1
    assert (await db.storage.claim_chat(ANN, plan, T0)).rows == ()
    assert len(db.outbox()) == 1


async def test_an_inactive_chat_queues_nothing_and_back_gets_only_what_is_new(db: Db) -> None:
    await _poll(db, "Ukraine one")
    await db.storage.set_chat_status(BOB, ChatStatus.PAUSED, now=T0)
    await fan_out(db.storage, T0)
    assert db.alerts() == [(ANN, "Ukraine one")]
    await db.storage.set_chat_status(BOB, ChatStatus.ACTIVE, now=T0)
    await _poll(db, "Ukraine two", now=T0 + 60)
    await fan_out(db.storage, T0 + 60)
    assert [title for chat, title in db.alerts() if chat == BOB] == ["Ukraine two"]


async def test_a_subscription_does_not_bring_matches_stored_before_it(db: Db) -> None:
    await _poll(db, "Ukraine before", audience=everyone(ANN))
    await _poll(db, "Ukraine after", audience=everyone(ANN, BOB), now=T0 + 60)
    await fan_out(db.storage, T0 + 60)
    assert sorted(db.alerts()) == [
        (ANN, "Ukraine after"),
        (ANN, "Ukraine before"),
        (BOB, "Ukraine after"),
    ]


async def test_the_watermark_forgets_matches_everyone_dealt_with(db: Db) -> None:
    await _poll(db, "Ukraine one", "Ukraine two")
    [_, last] = await db.storage.story_matches(0, 10)
    await db.storage.advance_watermark(last.id)
    assert await db.storage.delivery_watermark() == last.id
    assert await db.storage.story_matches(0, 10) == []
    await db.storage.advance_watermark(0)
    assert await db.storage.delivery_watermark() == last.id, "never goes back"
    await _poll(db, "Ukraine three", now=T0 + 60)
    [newer] = await db.storage.story_matches(0, 10)
    assert newer.id > last.id, "ids never reused, even after the newest rows were deleted"


async def test_a_failing_planner_leaves_the_chat_as_it_was(db: Db) -> None:
    await _poll(db, "Ukraine one")

    def broken(_: ChatWork) -> ClaimPlan:
        raise RuntimeError("planner bug")

    with pytest.raises(RuntimeError):
        await db.storage.claim_chat(ANN, broken, T0)
    await fan_out(db.storage, T0)
    assert db.alerts() == [(ANN, "Ukraine one"), (BOB, "Ukraine one")]


async def test_chats_claimed_together_get_each_their_own_claim(db: Db) -> None:
    await _poll(db, "Ukraine one")
    [match] = await db.storage.story_matches(0, 10)
    await db.storage.set_chat_status(BOB, ChatStatus.PAUSED, now=T0)

    def plan(work: ChatWork) -> ClaimPlan:
        rows = (
            ()
            if work.cursor >= match.id
            else (PlannedRow(Lane.ALERT, match.story_id, ("Ukraine",), None),)
        )
        return ClaimPlan(rows, match.id)

    assert await db.storage.claim_chats([], plan, T0) == []
    nobody = 987_654
    claims = await db.storage.claim_chats([BOB, nobody, ANN], plan, T0)
    assert [claim.chat_id for claim in claims] == [BOB, nobody, ANN], "in the order given"
    assert [len(claim.rows) for claim in claims] == [0, 0, 1]
    assert [row.kind for row in claims[2].rows] == ["alert"]
    assert db.alerts() == [(ANN, "Ukraine one")]
    again = await db.storage.claim_chats([ANN], plan, T0)
    assert again[0].rows == (), "the cursor moved with the claim"


async def test_a_failing_planner_leaves_every_chat_of_the_batch_as_it_was(db: Db) -> None:
    await _poll(db, "Ukraine one")
    [match] = await db.storage.story_matches(0, 10)

    def plan(work: ChatWork) -> ClaimPlan:
        if work.chat_id == BOB:
            raise RuntimeError("planner bug")
        return ClaimPlan((PlannedRow(Lane.ALERT, match.story_id, ("Ukraine",), None),), match.id)

    with pytest.raises(RuntimeError):
        await db.storage.claim_chats([ANN, BOB], plan, T0)
    assert db.outbox() == [], "Ann's claim went back with Bob's"
    await fan_out(db.storage, T0)
    assert sorted(db.alerts()) == [(ANN, "Ukraine one"), (BOB, "Ukraine one")]


async def test_stats_count_matches_still_reaching_chats(db: Db) -> None:
    await _poll(db, "Ukraine one", "Ukraine two", now=T0 + 60)
    waiting = await db.storage.stats(now=T0 + 120)
    assert (waiting.matches_waiting, waiting.oldest_match_at) == (2, T0 + 60)
    await fan_out(db.storage, T0 + 120)
    done = await db.storage.stats(now=T0 + 180)
    assert (done.matches_waiting, done.oldest_match_at) == (0, None)


async def test_a_claim_tells_the_planner_whether_the_chat_is_shared(db: Db) -> None:
    group = -1_000_000_006_003
    await db.storage.register_chat(ChatSeen(group, ChatType.SUPERGROUP, "Desk"), now=T0)
    seen: list[ChatWork] = []

    def plan(work: ChatWork) -> ClaimPlan:
        seen.append(work)
        return ClaimPlan((), work.cursor)

    await db.storage.claim_chat(ANN, plan, T0)
    await db.storage.claim_chat(group, plan, T0)
    assert [work.shared for work in seen] == [False, True]


async def test_a_story_is_queued_once_per_forum_topic(db: Db) -> None:
    await _poll(db, "Ukraine one")
    [match] = await db.storage.story_matches(0, 10)

    def plan(work: ChatWork) -> ClaimPlan:
        rows = tuple(
            PlannedRow(Lane.ALERT, match.story_id, ("Ukraine",), topic)
            for topic in (7, 9, 7, None, None)
        )
        return ClaimPlan(rows, match.id)

    claim = await db.storage.claim_chat(ANN, plan, T0)
    assert len(claim.rows) == 3, "topics 7 and 9 and the chat itself, each once"


@pytest.mark.parametrize("comes_back", ["set_chat_status", "register_chat"])
async def test_a_chat_active_again_gets_nothing_that_matched_while_it_was_away(
    db: Db, comes_back: str
) -> None:
    await db.storage.set_chat_status(ANN, ChatStatus.BLOCKED, now=T0)
    await _poll(db, "Ukraine while away", audience=everyone(ANN))
    if comes_back == "set_chat_status":
        await db.storage.set_chat_status(ANN, ChatStatus.ACTIVE, now=T0 + 60)
    else:
        await db.storage.register_chat(private(ANN), now=T0 + 60)
    await _poll(db, "Ukraine after", audience=everyone(ANN), now=T0 + 120)
    await fan_out(db.storage, T0 + 120)
    assert db.alerts() == [(ANN, "Ukraine after")]
