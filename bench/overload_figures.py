"""Scenario 9's figures, read from what the fake bot received and the outbox it left.

Run twice: the wide burst (stories matched across the whole audience: more chats get new
work each interval than an interval's messages can reach, so no scheduler keeps every story
within two intervals; the bound that holds is one round of the chats with work) and the
focused burst (one topic's followers, each with many stories, fit in an interval's
messages: there the oldest story must go within two poll intervals).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench.common import Figure, Run, at_most, percentile
from bench.overload_measure import delivered, over_chat_pace, over_global_cap
from bench.overload_sim import VirtualBot
from bench.overload_workload import Burst
from bot.app import sends_in_flight
from bot.delivery.ratelimit import CHAT_BURST, CHAT_RATE_PER_SECOND

SCENARIO = "9 overload"
# The bound on the oldest pending story's age, in poll intervals, where the chats
# with work fit in an interval's messages (the focused burst).
AGE_TARGET_INTERVALS = 2.0


def claimed_rows(database: Path) -> tuple[list[float], int]:
    """Return each sent outbox row's wait from claim to send, and the most rows that were
    claimed and not yet sent at once."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT created_at, sent_at FROM outbox WHERE status = 'sent'"
        ).fetchall()
    finally:
        connection.close()
    changes = sorted([(created, 1) for created, _ in rows] + [(sent, -1) for _, sent in rows])
    current = peak = 0
    for _, change in changes:
        current += change
        peak = max(peak, current)
    return [sent - created for created, sent in rows], peak


def figures(
    run: Run,
    bursts: Sequence[Burst],
    expected: dict[int, set[int]],
    bot: VirtualBot,
    stuck: bool,
    wall_seconds: float,
    counts: dict[str, int],
    *,
    focused: bool,
) -> list[Figure]:
    """Turn the recorded messages into the scenario's figures (the focused burst's named so)."""
    sizes = run.sizes
    rate, interval = sizes.overload_rate, sizes.overload_interval
    saved_at = {number: b.at for b in bursts for number, _, _ in b.stories}
    got = delivered(bot.sent, saved_at)
    due = {(chat, story) for story, chats in expected.items() for chat in chats}
    lost = len(due - got.pairs.keys())
    stray = len(got.pairs.keys() - due)
    twice = sum(count - 1 for count in got.pairs.values() if count > 1)
    pairs = sum(min(count, 1) for count in got.pairs.values())
    messages = len(bot.sent)
    # One round: every other chat with work gets its message first (plus the sends in flight).
    in_flight = sends_in_flight(rate)
    bound = (got.peak_chats_with_work + in_flight) / rate
    span = (bot.sent[-1].at - bursts[0].at) / interval if bot.sent else 0.0
    per_interval = [len({c for n, _, _ in b.stories for c in expected[n]}) for b in bursts]
    ages = [age / interval for age in got.ages]
    between = [m.chat_id for m in bot.sent if got.worst[0] < m.at < got.worst[1]]
    fit = rate * interval
    if focused:
        age_target = at_most(AGE_TARGET_INTERVALS, "intervals")
        age_note = (
            f"the issue's bound: here the chats with work each interval (up to "
            f"{max(per_interval):,}) fit in the {fit:,} msgs an interval allows"
        )
    else:
        # Pigeonhole: with more chats getting new work each interval than an interval's
        # messages, some chat's oldest story waits one round whatever the order; no fair
        # scheduler does better, so the bound is that round (as the wait's).
        age_target = at_most(math.ceil(bound / interval * 10) / 10, "intervals")
        age_note = (
            f"bound: one round ({bound:,.0f} s); 2 intervals is out of reach here: up to "
            f"{max(per_interval):,} chats get new work per interval, {fit:,} msgs fit in one"
        )
    measured = [
        Figure(
            SCENARIO,
            "(story, chat) pairs due",
            float(len(due)),
            "pairs",
            note=f"{sizes.overload_chats:,} chats, {len(bursts)} polls {interval} s apart, "
            f"{sum(b.pairs for b in bursts) / len(bursts) / fit:.1f}x the {fit:,} msgs an "
            f"interval allows at {rate}/s; chats with work per poll {per_interval}",
        ),
        Figure(
            SCENARIO,
            "pairs lost",
            float(lost),
            "pairs",
            at_most(0, "pairs"),
            f"outbox rows sent {counts.get('sent', 0):,}, pending {counts.get('pending', 0):,}; "
            f"not due but sent {stray}" + ("; the worker got STUCK" if stuck else ""),
        ),
        Figure(SCENARIO, "pairs delivered twice", float(twice), "pairs", at_most(0, "pairs")),
        Figure(
            SCENARIO,
            "messages sent",
            float(messages),
            "msgs",
            note=f"{pairs:,} pairs; {got.single_story:,} msgs carried one story (alerts, "
            "or a digest of one), the rest several",
        ),
        Figure(
            SCENARIO,
            "stories per message (coalescing)",
            pairs / max(1, messages),
            "stories/msg",
            note=f"messages without a story link: {got.empty_messages}",
        ),
        Figure(
            SCENARIO,
            "chat's wait for its next message with work pending, p99",
            percentile(got.waits, 0.99),
            "s",
        ),
        Figure(
            SCENARIO,
            "chat's wait for its next message with work pending, max",
            max(got.waits, default=float("nan")),
            "s",
            at_most(math.ceil(bound * 10) / 10, "s"),
            f"bound: one round, (peak chats with work {got.peak_chats_with_work:,} + "
            f"{in_flight} in flight) / {rate} msg/s; "
            f"the worst wait saw {len(between):,} msgs to {len(set(between)):,} chats",
        ),
        Figure(
            SCENARIO,
            "oldest pending story's age at delivery, p50",
            percentile(ages, 0.5),
            "intervals",
        ),
        Figure(
            SCENARIO,
            "oldest pending story's age at delivery, p99",
            percentile(ages, 0.99),
            "intervals",
        ),
        Figure(
            SCENARIO,
            "oldest pending story's age at delivery, max",
            max(ages, default=float("nan")),
            "intervals",
            age_target,
            age_note,
        ),
        Figure(
            SCENARIO,
            "sends over the global cap",
            float(over_global_cap((m.at for m in bot.sent), rate)),
            "msgs",
            at_most(0, "msgs"),
            f"{rate} msg/s of virtual time; backlog drained after {span:.1f} intervals",
        ),
        Figure(
            SCENARIO,
            "sends over a chat's pace",
            float(over_chat_pace(bot.sent, CHAT_RATE_PER_SECOND, CHAT_BURST)),
            "msgs",
            at_most(0, "msgs"),
        ),
        Figure(SCENARIO, "simulation wall time", wall_seconds, "s", note="virtual time inside"),
    ]
    if not focused:
        return measured
    return [replace(figure, name=f"focused burst: {figure.name}") for figure in measured]
