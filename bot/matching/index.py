"""One index over every subscription: match a story once, get every chat it concerns.

Queries with `source:` filters are matched by their words like any other, then kept only
when the story's outlet passes their filters (a set intersection finds them: most queries
have none). A query of source filters alone is matched by outlet, remembered per outlet.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import itemgetter, not_

from bot.matching.match import as_analyzed
from bot.matching.patterns import StoryView
from bot.matching.query import Query, parse_query
from bot.matching.sources import StorySource, admits
from bot.matching.terms import TermIndex
from bot.text.analyzer import AnalyzedText

_NO_QUERIES: frozenset[str] = frozenset()
# What a story word's terms reach: the sets of the queries of one group they file, and of the
# queries they exclude (their own sets, shared: a change to one is reported, reached_changed).
_Reach = tuple[tuple[AbstractSet[str], ...], tuple[AbstractSet[str], ...]]
_QUERIES, _EXCLUDED = itemgetter(0), itemgetter(1)
# Outlets whose source-only queries are remembered before the memo starts over.
MEMO_SOURCES = 10_000


@dataclass
class _IndexedQuery:
    """A distinct normalised query, the term ids it needs, and who subscribed to it."""

    groups: tuple[tuple[int, ...], ...]
    excluded: tuple[int, ...]
    sources: tuple[str, ...] = ()
    excluded_sources: tuple[str, ...] = ()
    # Of several groups: which of the first two files the query's pairs (_pairs).
    keyed_by: int = 0
    # chat -> (display,): one-tuples, so a match result is built by dict.update (C speed).
    subscribers: dict[int, tuple[str]] = field(default_factory=dict)


class SubscriptionIndex:
    """Inverted index from story words to terms (terms.py) to queries to chats.

    Matching a story is set algebra over what it holds: the terms come from intersecting its
    words with the terms' forms, the queries from unions of the sets each hit term files them
    in, never a loop over chats, subscriptions or queries.
    """

    def __init__(self) -> None:
        # What a story word's own terms reach is remembered with them: most of a story's
        # queries come through its words, then without a lookup per term.
        self._terms: TermIndex[_Reach] = TermIndex(self._reach)
        self._queries: dict[str, _IndexedQuery] = {}
        # Where each query is filed, by term. A query of one group (most: one word) is
        # matched by any of its terms; a query of two groups or more by a pair: a term of its
        # first group and one of its second (one of more groups is then checked whole).
        # Any excluded term hit takes a query back out.
        self._one_group: dict[int, set[str]] = defaultdict(set)
        # Tuples, not sets: most pairs file one query, and a set costs four times as much.
        self._pairs: dict[int, dict[int, tuple[str, ...]]] = {}
        self._more_groups: set[str] = set()
        self._excluding: dict[int, set[str]] = defaultdict(set)
        self._displays: dict[str, tuple[str]] = {}
        # Queries with source filters; those with no word group, and what each outlet gets.
        self._sourced: set[str] = set()
        self._source_only: set[str] = set()
        self._source_only_of: dict[StorySource, frozenset[str]] = {}

    def __len__(self) -> int:
        """Return the number of (chat, query) subscriptions indexed."""
        return sum(len(query.subscribers) for query in self._queries.values())

    @property
    def distinct_queries(self) -> int:
        """Return how many different normalised queries are indexed."""
        return len(self._queries)

    def add_many(self, subscriptions: Iterable[tuple[int, str, str]]) -> None:
        """Index (chat_id, normalised query, display) triples, parsing each query once."""
        for chat_id, normalised, display in subscriptions:
            self.add(chat_id, normalised, display)

    def add(self, chat_id: int, normalised: str, display: str) -> None:
        """Index one chat's subscription, given its stored normalised query."""
        indexed = self._queries.get(normalised)
        if indexed is None:
            indexed = self._index_query(normalised, parse_query(normalised))
        # Most users type popular queries the same way: share one tuple per display text.
        indexed.subscribers[chat_id] = self._displays.setdefault(display, (display,))

    def remove(self, chat_id: int, normalised: str) -> None:
        """Forget one chat's subscription; unknown ones are ignored."""
        indexed = self._queries.get(normalised)
        if indexed is None or indexed.subscribers.pop(chat_id, None) is None:
            return
        if not indexed.subscribers:
            self._unindex_query(normalised, indexed)

    def remove_chat(self, chat_id: int, normalised_queries: Iterable[str]) -> None:
        """Forget several subscriptions of one chat."""
        for normalised in normalised_queries:
            self.remove(chat_id, normalised)

    def subscriptions_of(self, chat_id: int) -> dict[str, str]:
        """Return the chat's indexed {normalised query: display} (a scan: for rare changes)."""
        return {
            normalised: indexed.subscribers[chat_id][0]
            for normalised, indexed in self._queries.items()
            if chat_id in indexed.subscribers
        }

    def entries(self) -> Iterator[tuple[int, str, str]]:
        """Yield every indexed (chat_id, normalised query, display)."""
        for normalised, indexed in list(self._queries.items()):
            for chat_id, (display,) in list(indexed.subscribers.items()):
                yield chat_id, normalised, display

    def match(
        self, story: AnalyzedText | Sequence[str], source: StorySource | None = None
    ) -> dict[int, tuple[str, ...]]:
        """Return {chat_id: displays of their matching subscriptions} for an analysed story.

        Fans out to every subscriber: for tests and tools; the poller stores only
        match_queries and delivery fans out when Telegram lets it send.
        """
        matched: dict[int, tuple[str, ...]] = {}
        for normalised in self.match_queries(story, source):
            _merge(matched, self._queries[normalised].subscribers)
        return matched

    def match_queries(
        self, story: AnalyzedText | Sequence[str], source: StorySource | None = None
    ) -> list[str]:
        """Return the distinct normalised queries an analysed story matches, sorted.

        source: the story's outlet, for queries with source filters (None: unknown, so only
        queries that require no outlet). Work grows with the terms and queries the story
        hits, never with their subscribers.
        """
        hits, reached, others = self._terms.hits(StoryView(as_analyzed(story)))
        matched = set().union(
            *chain.from_iterable(map(_QUERIES, reached)),
            *map(self._one_group.get, others, repeat(_NO_QUERIES)),
        )
        several: set[str] = set()
        # Both groups hit is rare (one candidate in fifty): find, at C speed, the hit key
        # terms with a hit partner, and only then collect their queries.
        keys = self._pairs.keys() & hits
        partners_hit = map(not_, map(hits.isdisjoint, map(self._pairs.__getitem__, keys)))
        for key in compress(keys, partners_hit):
            partners = self._pairs[key]
            several.update(*map(partners.__getitem__, partners.keys() & hits))
        for normalised in several & self._more_groups:
            if not _all_groups(self._queries[normalised], hits):
                several.discard(normalised)
        matched |= several
        if self._source_only and source is not None:
            matched |= self._source_only_for(source)
        matched.difference_update(
            *chain.from_iterable(map(_EXCLUDED, reached)),
            *map(self._excluding.get, others, repeat(_NO_QUERIES)),
        )
        if self._sourced:
            for normalised in matched & self._sourced:
                indexed = self._queries[normalised]
                if not admits(indexed.sources, indexed.excluded_sources, source):
                    matched.discard(normalised)
        return sorted(matched)

    def _source_only_for(self, source: StorySource) -> frozenset[str]:
        """Return the source-only queries naming the outlet (before their exclusions)."""
        found = self._source_only_of.get(source)
        if found is None:
            if len(self._source_only_of) >= MEMO_SOURCES:
                self._source_only_of.clear()
            found = self._source_only_of[source] = frozenset(
                normalised
                for normalised in self._source_only
                if admits(self._queries[normalised].sources, (), source)
            )
        return found

    def subscribers(self, normalised: str) -> dict[int, tuple[str]]:
        """Return {chat_id: (display,)} of the chats subscribed to a normalised query."""
        indexed = self._queries.get(normalised)
        return indexed.subscribers if indexed is not None else {}

    def _index_query(self, normalised: str, query: Query) -> _IndexedQuery:
        acquire = self._terms.acquire
        groups = tuple(tuple(acquire(term) for term in group) for group in query.groups)
        excluded = tuple(acquire(term) for term in query.excluded)
        indexed = _IndexedQuery(groups, excluded, query.sources, query.excluded_sources)
        if len(groups) > 1:
            # Pairs are filed under their more used side: popular terms are few, so fewer of a
            # story's terms have partners to look at (a quarter less time on the workload).
            uses = self._terms.uses
            indexed.keyed_by = int(max(map(uses, groups[0])) < max(map(uses, groups[1])))
        self._queries[normalised] = indexed
        for by_term, term_id in self._filed(indexed):
            by_term[term_id].add(normalised)
            self._terms.reached_changed(term_id)
        for key, partner in _pairs(indexed):
            partners = self._pairs.setdefault(key, {})
            partners[partner] = (*partners.get(partner, ()), normalised)
        if len(groups) > 2:
            self._more_groups.add(normalised)
        if query.has_source_filter:
            self._sourced.add(normalised)
        if not groups:
            self._source_only.add(normalised)
            self._source_only_of.clear()
        return indexed

    def _unindex_query(self, normalised: str, indexed: _IndexedQuery) -> None:
        del self._queries[normalised]
        self._more_groups.discard(normalised)
        self._sourced.discard(normalised)
        if normalised in self._source_only:
            self._source_only.discard(normalised)
            self._source_only_of.clear()
        for by_term, term_id in self._filed(indexed):
            by_term[term_id].discard(normalised)
            if not by_term[term_id]:
                del by_term[term_id]
            self._terms.reached_changed(term_id)
        for key, partner in _pairs(indexed):
            partners = self._pairs[key]
            partners[partner] = tuple(q for q in partners[partner] if q != normalised)
            if not partners[partner]:
                del partners[partner]
                if not partners:
                    del self._pairs[key]
        for group in indexed.groups:
            for term_id in group:
                self._terms.release(term_id)
        for term_id in indexed.excluded:
            self._terms.release(term_id)

    def _reach(self, terms: AbstractSet[int]) -> _Reach:
        """Return the sets of queries of one group the terms file, and of those they exclude."""
        one_group, excluding = self._one_group, self._excluding
        return tuple(filter(None, map(one_group.get, terms))), tuple(
            filter(None, map(excluding.get, terms))
        )

    def _filed(self, indexed: _IndexedQuery) -> list[tuple[dict[int, set[str]], int]]:
        """Return (dictionary, term id) for every place the query is filed under."""
        groups = indexed.groups
        filed = [(self._one_group, term_id) for term_id in groups[0]] if len(groups) == 1 else []
        return filed + [(self._excluding, term_id) for term_id in indexed.excluded]


def _merge(matched: dict[int, tuple[str, ...]], subscribers: dict[int, tuple[str]]) -> None:
    """Add one query's subscribers to a match result.

    Fan-out is most of the cost of matching (a popular story reaches thousands of users), so
    the bulk goes through dict.update; only users already matched by another query are
    merged one by one, keeping their displays sorted.
    """
    both = matched.keys() & subscribers.keys()
    merged = {user: tuple(sorted(matched[user] + subscribers[user])) for user in both}
    matched.update(subscribers)
    matched.update(merged)


def _pairs(indexed: _IndexedQuery) -> list[tuple[int, int]]:
    """Return the pairs a query of several groups is filed under: (key, partner) terms."""
    groups = indexed.groups
    if len(groups) < 2:
        return []
    keys, partners = groups[indexed.keyed_by], groups[1 - indexed.keyed_by]
    return [(key, partner) for key in keys for partner in partners]


def _all_groups(indexed: _IndexedQuery, hits: set[int]) -> bool:
    return all(not hits.isdisjoint(group) for group in indexed.groups)
