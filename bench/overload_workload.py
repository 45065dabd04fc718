"""Scenario 9's workload: Zipf subscriptions, and bursts of popular stories per poll.

Each poll interval a burst of popular stories (the workload's stories, title plus a 40-word
summary, the most widely matched first) is saved at the interval's start through the real
Storage.save_poll with the index's match_queries, until the (story, chat) pairs due reach
OVERLOAD_FACTOR x the interval's capacity (rate x interval). The chats that must get each
story are fanned out here from the subscription list, not by the bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bench.common import Run
from bench.matching import workload
from bench.overload_measure import story_link
from bench.workload import Subscription, make_subscriptions
from bot.ingest.stories import story_from_entry
from bot.matching.index import SubscriptionIndex
from bot.matching.query import parse_query
from bot.storage import PollToSave, Storage, StoryToSave
from bot.text.analyzer import AnalyzedText, analyze

FEED_URL = "https://overload.example/feed.xml"
SUMMARY_WORDS = 40
OVERLOAD_FACTOR = 10


@dataclass(frozen=True)
class Burst:
    """The stories saved at the start of one poll interval, and the pairs they make due."""

    at: float
    stories: tuple[tuple[int, str, AnalyzedText], ...]  # (number, title + summary, analyzed)
    pairs: int


def subscriptions_for(run: Run) -> list[Subscription]:
    """The workload's Zipf subscriptions, for overload_chats chats."""
    built = workload(run)
    chats = run.sizes.overload_chats
    if chats == run.sizes.users:
        return list(built.subscriptions)
    return make_subscriptions(built.vocabulary, chats, run.sizes.subscriptions_per_user)


def plan_bursts(
    run: Run, index: SubscriptionIndex, audience_of: dict[str, set[int]], start: float
) -> tuple[list[Burst], dict[int, set[int]]]:
    """Deal the most widely matched stories out to the intervals until each is overloaded.

    Returns the bursts and, per story number, the chats that must get it (fanned out here).
    """
    sizes = run.sizes
    due = OVERLOAD_FACTOR * sizes.overload_rate * sizes.overload_interval
    candidates = []
    for story in workload(run).stories:
        text = story.title + "\n" + " ".join(story.text.split()[:SUMMARY_WORDS])
        analyzed = analyze(text)
        chats: set[int] = set()
        for query in index.match_queries(analyzed):
            chats |= audience_of[query]
        if chats:
            candidates.append((len(chats), text, analyzed, chats))
    candidates.sort(key=lambda candidate: -candidate[0])
    stories: list[list[tuple[int, str, AnalyzedText]]] = [[] for _ in range(sizes.overload_polls)]
    pairs = [0] * sizes.overload_polls
    expected: dict[int, set[int]] = {}
    number = 0
    # Round robin over the intervals, so each gets popular and less popular stories; a
    # candidate list too short for the load comes round again as new stories.
    while min(pairs) < due:
        count, text, analyzed, chats = candidates[number % len(candidates)]
        interval = number % sizes.overload_polls
        if pairs[interval] < due:
            stories[interval].append((number, text, analyzed))
            pairs[interval] += count
            expected[number] = chats
        number += 1
    bursts = [
        Burst(start + i * sizes.overload_interval, tuple(stories[i]), pairs[i])
        for i in range(sizes.overload_polls)
    ]
    return bursts, expected


async def save_burst(
    storage: Storage, feed_id: int, burst: Burst, index: SubscriptionIndex
) -> None:
    """Save one interval's stories as one poll of the feed, matched by the real index."""
    candidates = []
    for number, text, analyzed in burst.stories:
        title, _, summary = text.partition("\n")
        story = story_from_entry(
            feed_id,
            f"urn:overload:{number}",
            story_link(number),
            f"[{number}] {title}",
            datetime.fromtimestamp(burst.at, UTC),
            summary,
        )
        candidates.append(StoryToSave(story=story, analyzed=analyzed, alertable=True))
    await storage.save_poll(
        PollToSave(
            feed_id=feed_id,
            url=FEED_URL,
            title="Overload Wire",
            etag=None,
            last_modified=None,
            next_poll_at=burst.at + 300,
            now=burst.at,
            alerts_enabled=True,
            stories=tuple(candidates),
        ),
        match=lambda candidate: tuple(index.match_queries(candidate.analyzed)),
    )


# The focused burst: one topic breaks, and the stories about it reach the chats that follow
# it, every one of them many times over. Candidate topics, the first no workload query
# matches is used (a place name a news bot's readers follow).
FOCUS_TOPICS = ("Kharkiv", "Zaporizhzhia", "Mykolaiv", "Chernihiv")
# Of the interval's capacity (rate x interval), the share of chats that follow the topic:
# chats with work per interval fit in the messages an interval allows.
FOCUS_SHARE = 0.8


def focus_subscriptions(run: Run, base: list[Subscription]) -> list[Subscription]:
    """Return the topic's subscriptions: FOCUS_SHARE x an interval's capacity of chats,
    spread over the workload's chats, follow it beside their own queries."""
    sizes = run.sizes
    taken = {query for _, query, _ in base}
    display = next(t for t in FOCUS_TOPICS if parse_query(t).normalised not in taken)
    normalised = parse_query(display).normalised
    followers = max(1, int(FOCUS_SHARE * sizes.overload_rate * sizes.overload_interval))
    step = max(1, sizes.overload_chats // followers)
    chats = sorted({chat for chat, _, _ in base})[::step][:followers]
    return [(chat, normalised, display) for chat in chats]


def plan_focused(
    run: Run, index: SubscriptionIndex, focus: list[Subscription], start: float
) -> tuple[list[Burst], dict[int, set[int]]]:
    """Each interval, stories on the topic alone until OVERLOAD_FACTOR x the interval's
    capacity of pairs is due: every follower gets about ten stories an interval."""
    sizes = run.sizes
    _, topic, display = focus[0]
    followers = {chat for chat, _, _ in focus}
    due = OVERLOAD_FACTOR * sizes.overload_rate * sizes.overload_interval
    per_interval = -(-due // len(followers))
    bursts: list[Burst] = []
    expected: dict[int, set[int]] = {}
    number = 1_000_000  # apart from the wide bursts' numbers
    for poll in range(sizes.overload_polls):
        stories = []
        for _ in range(per_interval):
            text = f"{display} {number}\n{display}: {number}"
            analyzed = analyze(text)
            matched = tuple(index.match_queries(analyzed))
            if matched != (topic,):
                raise ValueError(f"focused story {number} matched {matched}, not {topic!r} only")
            stories.append((number, text, analyzed))
            expected[number] = followers
            number += 1
        bursts.append(
            Burst(
                start + poll * sizes.overload_interval,
                tuple(stories),
                per_interval * len(followers),
            )
        )
    return bursts, expected
