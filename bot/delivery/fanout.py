"""Fan-out on read: the matches not yet dealt with, and a chat's pending stories among them.

The poller stores which queries each new story matched (never a row per chat). The delivery
worker reads those matches into a MatchLog, marks the subscribers of their queries as having
work, and when Telegram's pacing lets it send to a chat works out that chat's pending stories
from the chat's subscriptions and cursor (pending_stories; claim_planner adds the burst rule
for a claim), so poll-time cost follows the stories and the queries they match, and
send-time cost follows the messages sent.
"""

from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from itertools import takewhile

from bot.delivery.burst import COALESCE_AFTER_SECONDS, PendingStory, plan_claim
from bot.delivery.schedule import held_until
from bot.storage.claims import ChatSubscription, ChatWork, ClaimPlan, ClaimPlanner, StoryMatch


class MatchLog:
    """Matches in id order, and for each query the ids of the matches that name it."""

    def __init__(self) -> None:
        self._entries: dict[int, StoryMatch] = {}
        self._postings: dict[str, list[int]] = {}
        self.last_id = 0

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, matches: Iterable[StoryMatch]) -> set[str]:
        """Append matches (ids above last_id, in order); return the queries they name."""
        named: set[str] = set()
        for match in matches:
            if match.id <= self.last_id:
                continue  # already logged
            self._entries[match.id] = match
            for query in match.queries:
                self._postings.setdefault(query, []).append(match.id)
            named.update(match.queries)
            self.last_id = match.id
        return named

    def after(self, query: str, after_id: int) -> list[int]:
        """Return the ids of the logged matches naming query with an id above after_id."""
        ids = self._postings.get(query)
        if not ids:
            return []
        return ids[bisect_right(ids, after_id) :]

    def entry(self, match_id: int) -> StoryMatch:
        """Return a logged match."""
        return self._entries[match_id]

    def clear(self) -> None:
        """Forget every match: every chat has dealt with them (last_id stays)."""
        self._entries.clear()
        self._postings.clear()

    def drop_through(self, match_id: int) -> None:
        """Forget the matches up to match_id: every chat has dealt with them."""
        if match_id >= self.last_id:
            self.clear()
            return
        for doomed in list(takewhile(match_id.__ge__, self._entries)):
            del self._entries[doomed]
        for query, ids in list(self._postings.items()):
            cut = bisect_right(ids, match_id)
            if cut == len(ids):
                del self._postings[query]
            elif cut:
                del ids[:cut]


def is_muted(subscription: ChatSubscription, now: float) -> bool:
    """Whether the subscription is muted at now (a mute ends at its muted_until)."""
    return subscription.muted_until is not None and now < subscription.muted_until


def unmuted(subscriptions: Sequence[ChatSubscription], now: float) -> list[ChatSubscription]:
    """Return the subscriptions not muted at now: the ones a claim at now delivers for."""
    return [subscription for subscription in subscriptions if not is_muted(subscription, now)]


def pending_stories(
    log: MatchLog,
    subscriptions: Sequence[ChatSubscription],
    cursor: int,
    *,
    hidden_feeds: Collection[int] = frozenset(),
) -> list[PendingStory]:
    """Return a chat's pending stories, oldest first: logged matches after its cursor that
    name one of its queries (stored after the subscription was), one per story and forum
    topic, except stories from the feeds the chat hid.

    A story met by several of the chat's subscriptions in one topic names them all, sorted;
    met in several topics (the same query, or different ones), it goes to each, the topic
    of the oldest subscription first. Left out (a hidden feed's, or met only by
    subscriptions not given: muted ones), a story is behind the cursor once the claim moves
    it: never sent later.
    """
    met: dict[int, list[ChatSubscription]] = {}
    for subscription in subscriptions:
        for match_id in log.after(subscription.query, max(cursor, subscription.start_match)):
            met.setdefault(match_id, []).append(subscription)
    pending = []
    for match_id in sorted(met):
        match = log.entry(match_id)
        if match.feed_id is not None and match.feed_id in hidden_feeds:
            continue
        by_topic: dict[int | None, list[ChatSubscription]] = {}
        for subscription in sorted(met[match_id], key=lambda s: s.id):
            by_topic.setdefault(subscription.thread_id, []).append(subscription)
        for thread_id, subs in by_topic.items():
            displays = tuple(sorted({s.display for s in subs}))
            pending.append(
                PendingStory(match_id, match.story_id, displays, thread_id, match.matched_at)
            )
    return pending


def claim_planner(
    log: MatchLog, *, limit: int, now: float, coalesce_after: float = COALESCE_AFTER_SECONDS
) -> ClaimPlanner:
    """Return the planner a claim runs on the chat's state it read: its pending stories in
    the log (for the subscriptions not muted at now, from the feeds it did not hide), then
    the burst rule (limit: ALERT_BURST_LIMIT; coalesce_after: ALERT_COALESCE_SECONDS) and the
    chat's schedule at time now."""

    def plan(work: ChatWork) -> ClaimPlan:
        return plan_claim(
            pending_stories(
                log,
                unmuted(work.subscriptions, now),
                work.cursor,
                hidden_feeds=work.hidden_feeds,
            ),
            recent_alerts=work.recent_alerts,
            limit=limit,
            now=now,
            through=log.last_id,
            held_until=held_until(now, work.schedule),
            shared=work.shared,
            coalesce_after=coalesce_after,
        )

    return plan
