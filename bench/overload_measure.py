"""What scenario 9 reads from the messages the fake bot recorded (pure, no storage).

Which stories a message carried is read from its text (each story's link names its number),
not from the worker's bookkeeping, so a story sent twice or never shows up here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench.overload_sim import Sent

LINK_BASE = "https://overload.example/story/"
_LINK = re.compile(re.escape(LINK_BASE) + r"(\d+)\b")
# Float slack for sends spaced exactly 1/rate apart.
EPSILON = 1e-6


def story_link(number: int) -> str:
    """Return the link of story number, the mark the measurement finds in texts."""
    return f"{LINK_BASE}{number}"


def stories_in(text: str) -> set[int]:
    """Return the story numbers a message carries (an alert shows its link twice)."""
    return {int(found) for found in _LINK.findall(text)}


@dataclass(frozen=True)
class Delivered:
    """Per message: when, how long its chat waited with work, its oldest story's age."""

    pairs: Counter[tuple[int, int]]
    waits: tuple[float, ...]
    ages: tuple[float, ...]
    peak_chats_with_work: int
    empty_messages: int
    # The longest wait: from, to (virtual seconds).
    worst: tuple[float, float]
    single_story: int


def delivered(sent: Sequence[Sent], saved_at: Mapping[int, float]) -> Delivered:
    """Read (chat, story) pairs, waits and ages from the messages sent.

    A chat's wait for a message is counted from when it last had a message or, if later,
    from when the oldest story the message carries was saved: the time it had work and got
    nothing. Its spans give the most chats that had work at once.
    """
    pairs: Counter[tuple[int, int]] = Counter()
    by_chat: dict[int, list[tuple[float, set[int]]]] = defaultdict(list)
    for message in sent:
        by_chat[message.chat_id].append((message.at, stories_in(message.text)))
    waits: list[float] = []
    ages: list[float] = []
    spans: list[tuple[float, int]] = []
    worst = (0.0, 0.0)
    empty = 0
    for chat_id, messages in by_chat.items():
        messages.sort(key=lambda pair: pair[0])
        previous: float | None = None
        for at, stories in messages:
            pairs.update((chat_id, story) for story in stories)
            if not stories:
                empty += 1
                previous = at
                continue
            oldest = min(saved_at[story] for story in stories)
            since = oldest if previous is None else max(previous, oldest)
            waits.append(at - since)
            if at - since > worst[1] - worst[0]:
                worst = (since, at)
            ages.append(at - oldest)
            spans += [(since, 1), (at, -1)]
            previous = at
    single = sum(1 for messages in by_chat.values() for _, stories in messages if len(stories) == 1)
    return Delivered(pairs, tuple(waits), tuple(ages), _peak(spans), empty, worst, single)


def _peak(spans: list[tuple[float, int]]) -> int:
    # Ends sort before starts at the same instant: a chat served is not counted twice.
    current = peak = 0
    for _, change in sorted(spans):
        current += change
        peak = max(peak, current)
    return peak


def over_global_cap(times: Iterable[float], rate: int) -> int:
    """Count sends that were the rate+1-th or later within one second."""
    ordered = sorted(times)
    return sum(
        1
        for index in range(rate, len(ordered))
        if ordered[index] - ordered[index - rate] < 1.0 - EPSILON
    )


def over_chat_pace(sent: Iterable[Sent], rate: float, burst: int) -> int:
    """Count sends a chat's token bucket (burst, then rate per second) would not allow."""
    times: dict[int, list[float]] = defaultdict(list)
    for message in sent:
        times[message.chat_id].append(message.at)
    over = 0
    for chat_times in times.values():
        tokens = float(burst)
        last = None
        for at in sorted(chat_times):
            if last is not None:
                tokens = min(float(burst), tokens + (at - last) * rate)
            last = at
            if tokens < 1.0 - EPSILON:
                over += 1
            else:
                tokens -= 1.0
    return over
