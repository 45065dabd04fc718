"""A chat's delivery schedule as instants: pure, time in and out as POSIX seconds.

Quiet hours and digest times are local clock times in the chat's zone. Daylight saving makes
a clock time happen twice (fall back) or not at all (spring forward); either way it stands
for exactly one instant here: the first time it happens, or the moment the clocks jump past
it. So a window ends once and a digest time gives one digest, every night of the year.
"""

from datetime import date, datetime, time, timedelta, tzinfo

from bot.delivery.zones import zone_of
from bot.storage.claims import ChatSchedule

# A spring-forward gap is found to the second by halving: an hour or two needs 13 steps.
_SECOND = 1.0


def local_instant(day: date, minutes: int, zone: tzinfo) -> float:
    """Return the instant the clocks in zone first show day at minutes after midnight, or,
    if they skip that time (spring forward), the instant they jump past it."""
    wall = datetime.combine(day, time(minutes // 60, minutes % 60))
    first = wall.replace(tzinfo=zone, fold=0).timestamp()
    if _wall_at(first, zone) == wall:
        return first
    # Skipped: fold=0 reads it with the offset before the jump (after the gap), fold=1 with
    # the one after (before it). The jump is between: the first instant showing >= wall.
    low, high = sorted((wall.replace(tzinfo=zone, fold=1).timestamp(), first))
    while high - low > _SECOND:
        middle = (low + high) / 2
        if _wall_at(middle, zone) >= wall:
            high = middle
        else:
            low = middle
    return float(round(high))


def _wall_at(instant: float, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


def _days_around(now: float, zone: tzinfo) -> list[date]:
    today = datetime.fromtimestamp(now, zone).date()
    return [today + timedelta(days=shift) for shift in (-1, 0, 1, 2)]


def quiet_end(now: float, zone: tzinfo, window: tuple[int, int]) -> float | None:
    """Return when the quiet window now is in ends, or None if now is not in one."""
    start, end = window
    crosses = end <= start
    for day in _days_around(now, zone):
        opens = local_instant(day, start, zone)
        closes = local_instant(day + timedelta(days=1) if crosses else day, end, zone)
        if opens <= now < closes:
            return closes
    return None


def next_digest(now: float, zone: tzinfo, times: tuple[int, ...]) -> float:
    """Return the first digest instant after now."""
    return min(
        at
        for day in _days_around(now, zone)
        for minutes in times
        if (at := local_instant(day, minutes, zone)) > now
    )


def held_until(now: float, schedule: ChatSchedule) -> float | None:
    """Return when a story a chat is given now may be sent, or None: at once.

    In digest mode, at the next digest time; a digest time in quiet hours waits for their
    end. Otherwise, in quiet hours, at their end.
    """
    if schedule.quiet is None and not schedule.digest_times:
        return None  # most chats: nothing to work out
    zone = zone_of(schedule.timezone)
    release = next_digest(now, zone, schedule.digest_times) if schedule.digest_times else now
    if schedule.quiet is not None:
        end = quiet_end(release, zone, schedule.quiet)
        if end is not None:
            release = end
    return release if release > now else None
