"""One index over every subscription: match a story once, get every chat it concerns."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.matching.expand import compiled
from bot.matching.match import as_analyzed
from bot.matching.patterns import CompiledTerm, StoryView, pattern_at, singulars
from bot.matching.query import Query, Term, parse_query
from bot.text.analyzer import AnalyzedText


@dataclass
class _IndexedQuery:
    """A distinct normalised query, the term ids it needs, and who subscribed to it."""

    groups: tuple[tuple[int, ...], ...]
    excluded: tuple[int, ...]
    # One required term and no exclusion (most queries): reached through its term = matched.
    single_term: bool
    # chat -> (display,): one-tuples, so a match result is built by dict.update (C speed).
    subscribers: dict[int, tuple[str]] = field(default_factory=dict)


class SubscriptionIndex:
    """Inverted index from story words to terms to queries to chats.

    Matching a story costs a dictionary lookup per distinct word and lemma key (plus one per
    prefix length in use), then work proportional to the terms and queries it hits: never a
    loop over chats or subscriptions.
    """

    def __init__(self) -> None:
        self._term_ids: dict[Term, int] = {}
        self._terms: dict[int, CompiledTerm] = {}
        self._term_of: dict[int, Term] = {}
        self._term_refs: dict[int, int] = {}
        self._next_term_id = 0
        # Patterns are found through the keys of their first slot; prefixes by their stem.
        self._by_anchor: dict[str, set[tuple[int, int]]] = defaultdict(set)
        self._by_prefix: dict[str, set[int]] = defaultdict(set)
        self._prefix_lengths: dict[int, int] = defaultdict(int)
        self._queries: dict[str, _IndexedQuery] = {}
        self._queries_by_term: dict[int, set[str]] = defaultdict(set)
        self._displays: dict[str, tuple[str]] = {}

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

    def match(self, story: AnalyzedText | Sequence[str]) -> dict[int, tuple[str, ...]]:
        """Return {chat_id: displays of their matching subscriptions} for an analysed story.

        Fans out to every subscriber: for tests and tools; the poller stores only
        match_queries and delivery fans out when Telegram lets it send.
        """
        matched: dict[int, tuple[str, ...]] = {}
        for normalised in self.match_queries(story):
            _merge(matched, self._queries[normalised].subscribers)
        return matched

    def match_queries(self, story: AnalyzedText | Sequence[str]) -> list[str]:
        """Return the distinct normalised queries an analysed story matches, sorted.

        Work grows with the terms and queries the story hits, never with their subscribers.
        """
        hits = self._hit_terms(StoryView(as_analyzed(story)))
        candidates: set[str] = set()
        for term_id in hits:
            candidates |= self._queries_by_term.get(term_id, set())
        return sorted(
            normalised
            for normalised in candidates
            if (indexed := self._queries[normalised]).single_term or _satisfied(indexed, hits)
        )

    def subscribers(self, normalised: str) -> dict[int, tuple[str]]:
        """Return {chat_id: (display,)} of the chats subscribed to a normalised query."""
        indexed = self._queries.get(normalised)
        return indexed.subscribers if indexed is not None else {}

    def _hit_terms(self, view: StoryView) -> set[int]:
        hits: set[int] = set()
        for word, where in view.word_positions.items():
            self._hit_anchor(word, where, view, hits, via_plural=False)
            for single in singulars(word):
                self._hit_anchor(single, where, view, hits, via_plural=True)
            for length in self._prefix_lengths:
                if length <= len(word):
                    hits |= self._by_prefix.get(word[:length], set())
        for key, where in view.extra_positions.items():
            self._hit_anchor(key, where, view, hits, via_plural=False)
        return hits

    def _hit_anchor(
        self, anchor: str, where: list[int], view: StoryView, hits: set[int], *, via_plural: bool
    ) -> None:
        for term_id, pattern_index in self._by_anchor.get(anchor, ()):
            if term_id in hits:
                continue
            pattern = self._terms[term_id].patterns[pattern_index]
            if via_plural and not pattern.slots[0].plural:
                continue
            if pattern_at(pattern, view, where):
                hits.add(term_id)

    def _index_query(self, normalised: str, query: Query) -> _IndexedQuery:
        groups = tuple(tuple(self._acquire_term(term) for term in group) for group in query.groups)
        excluded = tuple(self._acquire_term(term) for term in query.excluded)
        indexed = _IndexedQuery(
            groups=groups,
            excluded=excluded,
            single_term=len(groups) == 1 and len(groups[0]) == 1 and not excluded,
        )
        self._queries[normalised] = indexed
        for group in groups:
            for term_id in group:
                self._queries_by_term[term_id].add(normalised)
        return indexed

    def _unindex_query(self, normalised: str, indexed: _IndexedQuery) -> None:
        del self._queries[normalised]
        for group in indexed.groups:
            for term_id in group:
                self._queries_by_term[term_id].discard(normalised)
                if not self._queries_by_term[term_id]:
                    del self._queries_by_term[term_id]
        for term_id in [t for group in indexed.groups for t in group] + list(indexed.excluded):
            self._release_term(term_id)

    def _acquire_term(self, term: Term) -> int:
        term_id = self._term_ids.get(term)
        if term_id is None:
            term_id = self._next_term_id
            self._next_term_id += 1
            self._term_ids[term] = term_id
            self._term_of[term_id] = term
            self._term_refs[term_id] = 0
            compiled_term = self._terms[term_id] = compiled(term)
            if compiled_term.prefix is not None:
                self._by_prefix[compiled_term.prefix].add(term_id)
                self._prefix_lengths[len(compiled_term.prefix)] += 1
            for index, pattern in enumerate(compiled_term.patterns):
                for key in pattern.slots[0].keys:
                    self._by_anchor[key].add((term_id, index))
        self._term_refs[term_id] += 1
        return term_id

    def _release_term(self, term_id: int) -> None:
        self._term_refs[term_id] -= 1
        if self._term_refs[term_id] > 0:
            return
        compiled_term = self._terms.pop(term_id)
        del self._term_refs[term_id]
        del self._term_ids[self._term_of.pop(term_id)]
        if compiled_term.prefix is not None:
            stem = compiled_term.prefix
            self._by_prefix[stem].discard(term_id)
            if not self._by_prefix[stem]:
                del self._by_prefix[stem]
            self._prefix_lengths[len(stem)] -= 1
            if not self._prefix_lengths[len(stem)]:
                del self._prefix_lengths[len(stem)]
        for index, pattern in enumerate(compiled_term.patterns):
            for key in pattern.slots[0].keys:
                self._by_anchor[key].discard((term_id, index))
                if not self._by_anchor[key]:
                    del self._by_anchor[key]


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


def _satisfied(indexed: _IndexedQuery, hits: set[int]) -> bool:
    if any(term_id in hits for term_id in indexed.excluded):
        return False
    return all(any(term_id in hits for term_id in group) for group in indexed.groups)
