"""Fan-out on read on plain data: a chat's pending stories, and alerts or one digest."""

import pytest

from bot.delivery.burst import (
    COALESCE_AFTER_SECONDS,
    GROUP_ALERTS_AT_ONCE,
    MAX_STORIES_PER_CLAIM,
    PendingStory,
    plan_claim,
)
from bot.delivery.fanout import MatchLog, pending_stories
from bot.storage import ChatSubscription, Lane, StoryMatch

A, D = Lane.ALERT, Lane.DIGEST
NOW = 1_000_000.0


def _pending(count: int, *, age: float = 0.0) -> list[PendingStory]:
    return [PendingStory(n, 100 + n, ("Ukraine",), None, NOW - age) for n in range(1, count + 1)]


@pytest.mark.parametrize(
    ("count", "recent", "limit", "lanes", "more"),
    [
        (1, 0, 2, [A], False),
        (3, 0, 2, [A], True),
        (2, 1, 2, [A], True),
        (3, 2, 2, [D, D, D], False),
        (1, 5, 2, [D], False),
        (1, 0, 0, [D], False),
        (0, 9, 2, [], False),
    ],
    ids=[
        "one fresh story",
        "several fresh: the oldest now, the chat comes back for the next",
        "earlier alerts in the window count",
        "at the limit: one digest of everything",
        "already over the limit",
        "a limit of zero digests everything",
        "nothing pending",
    ],
)
def test_a_turn_sends_one_alert_while_fresh_and_under_the_limit_else_one_digest(
    count: int, recent: int, limit: int, lanes: list[Lane], more: bool
) -> None:
    pending = _pending(count)
    plan = plan_claim(pending, recent_alerts=recent, limit=limit, now=NOW, through=77)
    assert [row.lane for row in plan.rows] == lanes
    assert [row.story_id for row in plan.rows] == [101 + n for n in range(len(lanes))]
    assert all(row.matched == ("Ukraine",) for row in plan.rows)
    assert plan.more is more
    assert plan.through == (pending[len(lanes) - 1].match_id if more else 77)


def test_taking_the_chats_turns_until_nothing_is_left_follows_the_burst_rule() -> None:
    pending, recent, lanes = _pending(5), 0, []
    while pending:
        plan = plan_claim(pending, recent_alerts=recent, limit=2, now=NOW, through=99)
        lanes += [row.lane for row in plan.rows]
        recent += sum(row.lane is A for row in plan.rows)
        pending = [p for p in pending if p.match_id > plan.through]
    assert lanes == [A, A, D, D, D]


def test_a_chat_that_waited_gets_everything_pending_as_one_digest() -> None:
    plan = plan_claim(
        _pending(5, age=COALESCE_AFTER_SECONDS), recent_alerts=0, limit=10, now=NOW, through=9
    )
    assert [row.lane for row in plan.rows] == [D] * 5


def test_the_wait_before_coalescing_is_the_one_given() -> None:
    # ALERT_COALESCE_SECONDS: stories that waited the default but not the configured wait
    # still go one alert per turn.
    late = _pending(5, age=COALESCE_AFTER_SECONDS)
    kept = plan_claim(late, recent_alerts=0, limit=10, now=NOW, through=9, coalesce_after=3600)
    assert [row.lane for row in kept.rows] == [A]
    sooner = plan_claim(
        _pending(5, age=30), recent_alerts=0, limit=10, now=NOW, through=9, coalesce_after=30
    )
    assert [row.lane for row in sooner.rows] == [D] * 5


def test_a_single_late_story_is_still_an_alert() -> None:
    plan = plan_claim(_pending(1, age=3600), recent_alerts=0, limit=10, now=NOW, through=9)
    assert [row.lane for row in plan.rows] == [A]


def test_a_huge_backlog_is_taken_in_parts_and_the_cursor_stops_at_the_last_taken() -> None:
    pending = _pending(MAX_STORIES_PER_CLAIM + 5, age=3600)
    plan = plan_claim(pending, recent_alerts=0, limit=10, now=NOW, through=10_000)
    assert len(plan.rows) == MAX_STORIES_PER_CLAIM
    assert plan.more
    assert plan.through == pending[MAX_STORIES_PER_CLAIM - 1].match_id


def _sub(
    sub_id: int, query: str, display: str, thread: int | None = None, start: int = 0
) -> ChatSubscription:
    return ChatSubscription(sub_id, query, display, thread, start)


def _log(*matches: tuple[int, int, tuple[str, ...]]) -> MatchLog:
    log = MatchLog()
    named = log.add(StoryMatch(m, story, queries, float(m)) for m, story, queries in matches)
    assert named == {q for _, _, queries in matches for q in queries}
    return log


def test_pending_stories_follow_the_cursor_and_each_subscriptions_start() -> None:
    log = _log((1, 10, ("ukraine",)), (2, 11, ("nato",)), (3, 12, ("ukraine", "nato")))
    subs = (_sub(1, "ukraine", "Ukraine"), _sub(2, "nato", "NATO", start=2))
    assert [(p.match_id, p.story_id, p.matched) for p in pending_stories(log, subs, 0)] == [
        (1, 10, ("Ukraine",)),
        (3, 12, ("NATO", "Ukraine")),
    ], "NATO was subscribed after match 2 was stored"
    assert [p.story_id for p in pending_stories(log, subs, 1)] == [12]
    assert pending_stories(log, subs, 3) == []
    assert pending_stories(log, (), 0) == []


def test_a_story_goes_to_each_topic_it_matched_in_the_oldest_subscriptions_first() -> None:
    log = _log((1, 10, ("ukraine", "nato", "kyiv")))
    subs = (
        _sub(5, "ukraine", "Ukraine", thread=50),
        _sub(3, "nato", "NATO", thread=30),
        _sub(4, "kyiv", "Kyiv", thread=30),
        _sub(6, "ukraine", "Ukraine", thread=30),
    )
    stories = pending_stories(log, subs, 0)
    assert [(s.matched, s.thread_id) for s in stories] == [
        (("Kyiv", "NATO", "Ukraine"), 30),
        (("Ukraine",), 50),
    ]


def test_an_alert_goes_to_every_topic_of_the_oldest_story_and_a_digest_keeps_them_whole() -> None:
    log = _log((1, 10, ("ukraine",)), (2, 11, ("ukraine",)), (3, 12, ("ukraine",)))
    subs = (_sub(1, "ukraine", "Ukraine", thread=7), _sub(2, "ukraine", "Ukraine", thread=9))
    pending = pending_stories(log, subs, 0)
    alert = plan_claim(pending, recent_alerts=0, limit=10, now=3.0, through=3)
    assert [(r.lane, r.story_id, r.thread_id) for r in alert.rows] == [(A, 10, 7), (A, 10, 9)]
    assert (alert.through, alert.more) == (1, True)
    digest = plan_claim(pending, recent_alerts=10, limit=10, now=3.0, through=3)
    assert [(r.story_id, r.thread_id) for r in digest.rows] == [
        (story, topic) for story in (10, 11, 12) for topic in (7, 9)
    ]
    # A claim's cut never leaves a story's other topics behind the cursor.
    one_per_topic = [
        PendingStory(n // 2 + 2, 100 + n // 2, ("Ukraine",), 7 + n % 2 * 2, NOW)
        for n in range(MAX_STORIES_PER_CLAIM + 4)
    ]
    shifted = [_pending(1)[0], *one_per_topic]
    cut = plan_claim(shifted, recent_alerts=10, limit=10, now=NOW, through=10_000)
    assert len(cut.rows) == MAX_STORIES_PER_CLAIM + 1
    assert cut.more
    last = shifted[MAX_STORIES_PER_CLAIM]
    assert [r.story_id for r in cut.rows[-2:]] == [last.story_id, last.story_id]
    assert cut.through == last.match_id


def test_the_log_ignores_matches_it_has_and_forgets_on_clear() -> None:
    log = _log((1, 10, ("a",)), (2, 11, ("b",)))
    assert log.add([StoryMatch(2, 11, ("b",), 2.0)]) == set()
    assert (len(log), log.last_id, log.after("a", 0)) == (2, 2, [1])
    log.clear()
    assert (len(log), log.last_id, log.after("a", 0)) == (0, 2, [])


@pytest.mark.parametrize(
    ("count", "shared", "lanes"),
    [
        (GROUP_ALERTS_AT_ONCE, True, [A]),
        (GROUP_ALERTS_AT_ONCE + 1, True, [D] * (GROUP_ALERTS_AT_ONCE + 1)),
        (GROUP_ALERTS_AT_ONCE + 1, False, [A]),
    ],
    ids=["a few in a group: alerts", "a burst in a group: one digest at once", "private"],
)
def test_a_burst_for_a_group_is_one_digest_at_once(
    count: int, shared: bool, lanes: list[Lane]
) -> None:
    plan = plan_claim(
        _pending(count), recent_alerts=0, limit=10, now=NOW, through=50, shared=shared
    )
    assert [row.lane for row in plan.rows] == lanes
