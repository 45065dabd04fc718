"""Scenario 1: match stories against every subscription and store what they matched (the
poll's share of fan-out on read), against a regex-per-user loop."""

from __future__ import annotations

import asyncio
import gc
import re
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import Figure, Run, Stopwatch, at_least, at_most, median
from bench.polltime import FEEDS, poll_time
from bench.workload import (
    Corpus,
    Story,
    Subscription,
    Vocabulary,
    load_corpus,
    make_stories,
    make_subscriptions,
    make_vocabulary,
)
from bot.matching.index import SubscriptionIndex
from bot.matching.patterns import PLURAL_SUFFIXES
from bot.matching.query import Query, Term, TermKind, parse_query

SCENARIO = "1 matching"
MB = 1024 * 1024
# Full mode reads the whole real corpus (~270k words) for its vocabulary; without it,
# load_corpus generates a corpus of the same order, bounded by GENERATED_MAX_WORDS.
ALL_OF_THE_CORPUS = None


@dataclass(frozen=True)
class Workload:
    """Stories and subscriptions shared by the scenarios that need them."""

    corpus: Corpus
    stories: tuple[Story, ...]
    vocabulary: Vocabulary
    subscriptions: tuple[Subscription, ...]


def workload(run: Run) -> Workload:
    """Build (once per run) the stories and the users' subscriptions."""
    cached = run.cache.get("workload")
    if isinstance(cached, Workload):
        return cached
    sizes = run.sizes
    corpus = load_corpus(
        sizes.stories * sizes.story_words if run.smoke else ALL_OF_THE_CORPUS, run.corpus_dir
    )
    run.corpus = corpus.describe()
    stories = make_stories(corpus, sizes.stories, sizes.story_words)
    vocabulary = make_vocabulary(corpus, sizes.vocabulary, sizes.phrases)
    subscriptions = make_subscriptions(vocabulary, sizes.users, sizes.subscriptions_per_user)
    built = Workload(corpus, tuple(stories), vocabulary, tuple(subscriptions))
    run.cache["workload"] = built
    return built


def build_index(subscriptions: Sequence[Subscription]) -> SubscriptionIndex:
    """Index every subscription, as the bot does at start."""
    index = SubscriptionIndex()
    index.add_many(subscriptions)
    return index


def index_memory(subscriptions: Sequence[Subscription]) -> float:
    """Return the bytes the index holds, with its strings fresh as if read from SQLite."""
    fresh = [(u, q.encode().decode(), d.encode().decode()) for u, q, d in subscriptions]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = SubscriptionIndex()
        for user_id, query, display in fresh:
            index.add(user_id, query, display)
        del fresh
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del index
    return float(after - before)


# --- the baseline: one compiled regex per user, checked against each story --------------


def _plural(word: str) -> str:
    return re.escape(word) + "(?:" + "|".join(PLURAL_SUFFIXES) + ")?"


def term_pattern(term: Term) -> str:
    """Return a regex for the term over a story's folded words joined by spaces."""
    if term.kind is TermKind.PREFIX:
        return r"\b" + re.escape(term.words[0])
    return r"\b" + " ".join(_plural(word) for word in term.words) + r"\b"


def query_pattern(query: Query) -> str:
    """Return lookaheads that hold when the whole query matches, from position 0."""
    required = "".join(
        "(?=.*?(?:" + "|".join(term_pattern(term) for term in group) + "))"
        for group in query.groups
    )
    excluded = "".join("(?!.*?" + term_pattern(term) + ")" for term in query.excluded)
    return excluded + required


def user_regex(queries: Sequence[str]) -> re.Pattern[str]:
    """Compile one regex for all of a user's subscriptions, as peer bots do."""
    return re.compile("(?:" + "|".join(query_pattern(parse_query(q)) for q in queries) + ")")


def baseline_pairs(
    texts: Sequence[str], patterns: Sequence[tuple[int, re.Pattern[str]]]
) -> list[tuple[int, int]]:
    """Check every story against every user's regex; return the matching (story, user)."""
    pairs: list[tuple[int, int]] = []
    for story_number, text in enumerate(texts):
        for user_id, pattern in patterns:
            if pattern.match(text):
                pairs.append((story_number, user_id))
    return pairs


def _audience(index: SubscriptionIndex, queries: Sequence[str]) -> int:
    """Return how many chats subscribe to one of these queries (the story's pairs)."""
    chats: set[int] = set()
    for query in queries:
        chats.update(index.subscribers(query))
    return len(chats)


def run(run: Run) -> list[Figure]:
    """Measure index build, matching with fan-out, index memory, and the regex baseline."""
    sizes = run.sizes
    data = workload(run)
    subscriptions, stories = data.subscriptions, data.stories
    run.log(
        f"  {len(stories)} stories ({data.corpus.source}), {len(subscriptions)} subscriptions "
        f"of {sizes.users} users"
    )
    build_times: list[float] = []
    for _ in range(run.repeat):
        gc.collect()
        with Stopwatch() as watch:
            index = build_index(subscriptions)
        build_times.append(watch.seconds)
    # Poll-time work: match (distinct queries only), store, commit; fan-out waits for delivery.
    poll_times: list[float] = []
    matched: list[tuple[str, ...]] = []
    stored = 0
    for repetition in range(run.repeat):
        seconds, stored, matched = asyncio.run(
            poll_time(run.scratch(f"polltime-{repetition}"), index, stories, time.time())
        )
        poll_times.append(seconds)
    pairs = sum(_audience(index, queries) for queries in matched)
    memory = index_memory(subscriptions)

    # Baseline on a sample of users, scaled linearly to every user.
    by_user: dict[int, list[str]] = {}
    for user_id, query, _ in subscriptions:
        by_user.setdefault(user_id, []).append(query)
    step = max(1, len(by_user) // sizes.baseline_users)
    sample = sorted(by_user)[::step][: sizes.baseline_users]
    patterns = [(user_id, user_regex(by_user[user_id])) for user_id in sample]
    texts = [" ".join(story.words) for story in stories]
    baseline_times: list[float] = []
    regex_pairs: list[tuple[int, int]] = []
    for _ in range(run.repeat):
        with Stopwatch() as watch:
            regex_pairs = baseline_pairs(texts, patterns)
        baseline_times.append(watch.seconds)
    per_check = median(baseline_times) / (len(texts) * len(patterns))
    baseline_total = per_check * len(texts) * len(by_user)
    # Who the stored matches reach, for the sampled users: one of their queries was matched.
    index_pairs = {
        (number, user_id)
        for number, queries in enumerate(matched)
        for user_id in sample
        if not set(queries).isdisjoint(by_user[user_id])
    }
    mismatches = len(index_pairs ^ set(regex_pairs))
    poll_median = median(poll_times)
    return [
        Figure(
            SCENARIO,
            "index build",
            median(build_times),
            "s",
            at_most(3, "s"),
            f"{len(subscriptions):,} subscriptions, {index.distinct_queries:,} distinct",
            tuple(build_times),
        ),
        Figure(
            SCENARIO,
            f"poll-time work for {len(stories):,} stories: match, store, commit",
            poll_median,
            "s",
            at_most(0.5, "s"),
            f"{stored:,} stories stored with {sum(map(len, matched)):,} (story, query) matches "
            f"in {FEEDS} save_poll calls to SQLite; reaching {pairs:,} (story, chat) pairs, "
            "fanned out at delivery",
            tuple(poll_times),
        ),
        Figure(
            SCENARIO,
            "speed-up vs regex-per-user loop",
            baseline_total / poll_median,
            "x",
            at_least(1000, "x"),
            f"baseline {per_check * 1e6:.1f} us per user per story, {len(sample)} users "
            "sampled and scaled",
        ),
        Figure(SCENARIO, "index memory", memory / MB, "MB", at_most(150, "MB"), "tracemalloc"),
        Figure(SCENARIO, "baseline, scaled to all users", baseline_total, "s"),
        Figure(
            SCENARIO,
            "(story, user) pairs matched",
            float(pairs),
            "pairs",
            note=f"{pairs / max(1, len(stories)):,.0f} users per story on average",
        ),
        Figure(
            SCENARIO,
            "pairs differing from baseline (sample)",
            float(mismatches),
            "pairs",
            at_most(0, "pairs"),
            f"{len(index_pairs):,} pairs on {len(sample)} users",
        ),
    ]
