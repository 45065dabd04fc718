"""A chat's schedule as instants: quiet windows across midnight, digest times, and the
nights daylight saving skips or repeats an hour (Europe/Kyiv: 03:00 EET -> 04:00 EEST on the
last Sunday of March, 04:00 EEST -> 03:00 EET on the last Sunday of October)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.burst import PendingStory, plan_claim
from bot.delivery.schedule import held_until, local_instant, next_digest, quiet_end
from bot.storage import ChatSchedule, Lane

KYIV = ZoneInfo("Europe/Kyiv")
QUIET = (23 * 60, 7 * 60)
MORNING_EVENING = (8 * 60, 18 * 60)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def kyiv(
    *, quiet: tuple[int, int] | None = None, digest_times: tuple[int, ...] = ()
) -> ChatSchedule:
    return ChatSchedule("Europe/Kyiv", quiet, digest_times)


def test_a_clock_time_is_one_instant_on_an_ordinary_day() -> None:
    # 1 June: EEST, UTC+3.
    assert local_instant(date(2027, 6, 1), 8 * 60, KYIV) == utc(2027, 6, 1, 5, 0)


def test_a_skipped_clock_time_is_the_instant_the_clocks_jump_past_it() -> None:
    # 28 March 2027: 03:00 EET becomes 04:00 EEST at 01:00 UTC; 03:30 never shows.
    assert local_instant(date(2027, 3, 28), 3 * 60 + 30, KYIV) == utc(2027, 3, 28, 1, 0)
    assert local_instant(date(2027, 3, 28), 3 * 60, KYIV) == utc(2027, 3, 28, 1, 0)
    assert local_instant(date(2027, 3, 28), 4 * 60, KYIV) == utc(2027, 3, 28, 1, 0)
    assert local_instant(date(2027, 3, 28), 2 * 60 + 59, KYIV) == utc(2027, 3, 28, 0, 59)


def test_a_repeated_clock_time_is_its_first_occurrence() -> None:
    # 31 October 2027: 03:30 shows at 00:30 UTC (EEST) and again at 01:30 UTC (EET).
    assert local_instant(date(2027, 10, 31), 3 * 60 + 30, KYIV) == utc(2027, 10, 31, 0, 30)


@pytest.mark.parametrize(
    ("now", "end"),
    [
        # Before midnight and after it, the window that opened at 23:00 ends at 07:00.
        (utc(2027, 6, 1, 20, 0), utc(2027, 6, 2, 4, 0)),  # 23:00 local: opens
        (utc(2027, 6, 1, 22, 30), utc(2027, 6, 2, 4, 0)),  # 01:30 local
        (utc(2027, 6, 2, 3, 59), utc(2027, 6, 2, 4, 0)),  # 06:59 local
        (utc(2027, 6, 2, 4, 0), None),  # 07:00 local: over
        (utc(2027, 6, 2, 12, 0), None),  # 15:00 local
        (utc(2027, 6, 1, 19, 59), None),  # 22:59 local
    ],
)
def test_a_window_across_midnight(now: float, end: float | None) -> None:
    assert quiet_end(now, KYIV, QUIET) == end


def test_the_spring_forward_night_is_one_window_ending_at_seven_summer_time() -> None:
    # 27 March 23:00 EET = 21:00 UTC; 28 March 07:00 EEST = 04:00 UTC (an hour shorter).
    opened = utc(2027, 3, 27, 21, 0)
    assert quiet_end(opened - 1, KYIV, QUIET) is None
    for now in (opened, utc(2027, 3, 28, 0, 59), utc(2027, 3, 28, 1, 0), utc(2027, 3, 28, 3, 59)):
        assert quiet_end(now, KYIV, QUIET) == utc(2027, 3, 28, 4, 0)
    assert quiet_end(utc(2027, 3, 28, 4, 0), KYIV, QUIET) is None


def test_a_window_ending_in_the_fall_back_hour_ends_once() -> None:
    # 23:00-03:30 on 30/31 October: 03:30 happens twice; the window ends at the first.
    window = (23 * 60, 3 * 60 + 30)
    first = utc(2027, 10, 31, 0, 30)
    assert quiet_end(first - 60, KYIV, window) == first
    # The repeated 03:00-03:30 (EET, 01:00-01:30 UTC) is not quiet again.
    assert quiet_end(utc(2027, 10, 31, 1, 10), KYIV, window) is None


def test_two_digest_times_follow_each_other() -> None:
    at_0800 = utc(2027, 6, 1, 5, 0)
    at_1800 = utc(2027, 6, 1, 15, 0)
    assert next_digest(utc(2027, 6, 1, 0, 0), KYIV, MORNING_EVENING) == at_0800
    assert next_digest(at_0800, KYIV, MORNING_EVENING) == at_1800
    assert next_digest(at_1800, KYIV, MORNING_EVENING) == utc(2027, 6, 2, 5, 0)


@pytest.mark.parametrize(
    ("night", "expected"),
    [
        # Spring forward: 03:30 does not exist; the digest goes when the clocks jump.
        (utc(2027, 3, 27, 22, 0), [utc(2027, 3, 28, 1, 0), utc(2027, 3, 29, 0, 30)]),
        # Fall back: 03:30 happens twice; one digest, at the first.
        (utc(2027, 10, 30, 21, 0), [utc(2027, 10, 31, 0, 30), utc(2027, 11, 1, 1, 30)]),
    ],
)
def test_a_digest_time_on_a_daylight_saving_night_gives_exactly_one_digest(
    night: float, expected: list[float]
) -> None:
    times = (3 * 60 + 30,)
    seen = []
    now = night
    for _ in expected:
        now = next_digest(now, KYIV, times)
        seen.append(now)
    assert seen == expected


def test_no_schedule_holds_nothing() -> None:
    assert held_until(utc(2027, 6, 1, 22, 0), ChatSchedule()) is None
    assert held_until(utc(2027, 6, 1, 12, 0), kyiv(quiet=QUIET)) is None


def test_quiet_hours_hold_until_they_end_in_the_chats_zone() -> None:
    assert held_until(utc(2027, 6, 1, 22, 0), kyiv(quiet=QUIET)) == utc(2027, 6, 2, 4, 0)
    # The same hours in UTC end three hours later.
    assert held_until(utc(2027, 6, 2, 5, 0), ChatSchedule(quiet=QUIET)) == utc(2027, 6, 2, 7, 0)
    offset = ChatSchedule("UTC+02:00", quiet=QUIET)
    assert held_until(utc(2027, 6, 2, 4, 0), offset) == utc(2027, 6, 2, 5, 0)


def test_digest_mode_holds_until_the_next_digest_and_quiet_hours_push_it_on() -> None:
    schedule = kyiv(digest_times=(6 * 60, 18 * 60))
    assert held_until(utc(2027, 6, 1, 0, 0), schedule) == utc(2027, 6, 1, 3, 0)
    # 06:00 falls in 23:00-07:00: that digest waits for 07:00.
    quiet = kyiv(digest_times=(6 * 60, 18 * 60), quiet=QUIET)
    assert held_until(utc(2027, 6, 1, 0, 0), quiet) == utc(2027, 6, 1, 4, 0)


def test_a_digest_missed_while_the_bot_was_down_is_due_at_once() -> None:
    # Held for 08:00; the bot comes back at 09:30: the rows' release time is past, so due.
    schedule = kyiv(digest_times=MORNING_EVENING)
    release = held_until(utc(2027, 6, 1, 0, 0), schedule)
    assert release == utc(2027, 6, 1, 5, 0)
    back = utc(2027, 6, 1, 6, 30)
    assert release <= back
    # Stories given to the chat after it come with the evening digest.
    assert held_until(back, schedule) == utc(2027, 6, 1, 15, 0)


def pending(n: int) -> list[PendingStory]:
    return [PendingStory(i, 100 + i, ("Ukraine",), None, matched_at=0.0) for i in range(1, n + 1)]


def test_a_held_chat_gets_every_pending_story_as_digest_lines_for_the_release() -> None:
    plan = plan_claim(pending(3), recent_alerts=0, limit=10, now=1.0, through=3, held_until=50.0)
    assert [(row.lane, row.story_id, row.not_before) for row in plan.rows] == [
        (Lane.DIGEST, 101, 50.0),
        (Lane.DIGEST, 102, 50.0),
        (Lane.DIGEST, 103, 50.0),
    ]
    assert plan.through == 3
    free = plan_claim(pending(3), recent_alerts=0, limit=10, now=1.0, through=3)
    assert [(row.lane, row.not_before) for row in free.rows] == [(Lane.ALERT, 0.0)]
