"""The burst rule: what a chat's turn sends, one alert or one digest of what is pending.

A turn sends one message. While the chat is under ALERT_BURST_LIMIT alerts in the last
BURST_WINDOW_SECONDS (however many feeds and polls they come from) and its oldest pending
story is fresh, that is an alert for the oldest story, and the chat goes to the back of the
line for the next one: a few seconds away under normal load. Past the limit, or once the
oldest story has waited ALERT_COALESCE_SECONDS (default COALESCE_AFTER_SECONDS: delivery is
behind, more is due than Telegram lets the bot send), everything pending goes as one digest.
So a backlog never becomes one queued message per story, and no chat takes more than its turn.

A group, supergroup or channel gets about 20 messages a minute (a message every 3 s once
its short burst is spent), so a burst of more stories than GROUP_ALERTS_AT_ONCE becomes one
digest at once instead of a line of alerts 3 s apart: the first story comes no later, and
the group's allowance is left for what comes next. Nothing is dropped.

A chat whose schedule holds it (quiet hours, digest times: bot.delivery.schedule) gets
everything pending as digest lines not sent before the release time; at release they go
as one digest.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.claims import ClaimPlan, Lane, PlannedRow

# Ten minutes: two cycles of the default 5-minute poll interval, so feeds polled together
# or in consecutive cycles share one budget, and a fixed span the README can promise
# whatever POLL_INTERVAL_SECONDS is.
BURST_WINDOW_SECONDS = 600.0
# A story that waited two minutes for its chat's turn is late (the README promises alerts
# within a minute or two): what is pending then goes as one message. Under normal load a
# chat's turn comes within seconds (a burst of 3, then one a second).
COALESCE_AFTER_SECONDS = 120.0
# Stories one claim takes; a digest message holds far fewer, the rest wait in the outbox.
MAX_STORIES_PER_CLAIM = 200
# A shared chat's burst of Telegram's allowance (ratelimit.CHAT_BURST): more stories pending
# than this would wait for alerts 3 s apart, so they go as one digest now.
GROUP_ALERTS_AT_ONCE = 3


@dataclass(frozen=True)
class PendingStory:
    """A story waiting for a chat: the match it came from and the chat's queries it met."""

    match_id: int
    story_id: int
    matched: tuple[str, ...]
    thread_id: int | None
    matched_at: float


def plan_claim(
    pending: Sequence[PendingStory],
    *,
    recent_alerts: int,
    limit: int,
    now: float,
    through: int,
    held_until: float | None = None,
    shared: bool = False,
    coalesce_after: float = COALESCE_AFTER_SECONDS,
) -> ClaimPlan:
    """Return the rows for a chat's pending stories (oldest first) and its new cursor.

    recent_alerts: alerts already queued to the chat within the burst window; through: the
    last match the caller has seen, where the cursor moves when everything pending is taken;
    held_until: the chat's schedule holds what it is given now until then (None: it does not);
    shared: a group, supergroup or channel (paced by Telegram at 20 messages a minute);
    coalesce_after: how long the oldest story may wait before what is pending goes as one
    digest (ALERT_COALESCE_SECONDS).
    """
    if not pending:
        return ClaimPlan((), through)
    oldest = pending[0]
    behind = len(pending) > 1 and now - oldest.matched_at >= coalesce_after
    crowded = shared and len(pending) > GROUP_ALERTS_AT_ONCE
    if held_until is None and recent_alerts < limit and not behind and not crowded:
        # The oldest story: one alert to each forum topic it is pending for.
        lane, taken = Lane.ALERT, [p for p in pending if p.match_id == oldest.match_id]
    else:
        lane, taken = Lane.DIGEST, list(pending[:MAX_STORIES_PER_CLAIM])
        # The cursor moves past the last story taken: all of its topics go with it.
        last = taken[-1].match_id
        taken += [p for p in pending[len(taken) :] if p.match_id == last]
    not_before = held_until or 0.0
    rows = tuple(PlannedRow(lane, s.story_id, s.matched, s.thread_id, not_before) for s in taken)
    more = len(pending) > len(taken)
    return ClaimPlan(rows, taken[-1].match_id if more else through, more)
