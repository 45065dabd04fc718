"""One index over every subscription: match a story once, get every chat it concerns."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.matching.query import PLURAL_SUFFIXES, Query, Term, TermKind, parse_query, word_matches


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

    Matching a story costs a dictionary lookup per distinct word (plus one per prefix length
    in use), then work proportional to the terms and queries it hits: never a loop over
    chats or subscriptions.
    """

    def __init__(self) -> None:
        self._term_ids: dict[Term, int] = {}
        self._terms: dict[int, Term] = {}
        self._term_refs: dict[int, int] = {}
        self._next_term_id = 0
        # Words and phrases are found through their first word; prefixes by their stem.
        self._by_anchor: dict[str, set[int]] = defaultdict(set)
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

    def match(self, words: Sequence[str]) -> dict[int, tuple[str, ...]]:
        """Return {chat_id: displays of their matching subscriptions} for a tokenised story."""
        hits = self._hit_terms(words)
        candidates: set[str] = set()
        for term_id in hits:
            candidates |= self._queries_by_term.get(term_id, set())
        matched: dict[int, tuple[str, ...]] = {}
        for normalised in candidates:
            indexed = self._queries[normalised]
            if indexed.single_term or _satisfied(indexed, hits):
                _merge(matched, indexed.subscribers)
        return matched

    def _hit_terms(self, words: Sequence[str]) -> set[int]:
        positions: dict[str, list[int]] = defaultdict(list)
        for position, word in enumerate(words):
            positions[word].append(position)
        hits: set[int] = set()
        for word, where in positions.items():
            for anchor in _anchors(word):
                for term_id in self._by_anchor.get(anchor, ()):
                    term = self._terms[term_id]
                    if term.kind is TermKind.WORD or _phrase_at(term, words, where):
                        hits.add(term_id)
            for length in self._prefix_lengths:
                if length <= len(word):
                    hits |= self._by_prefix.get(word[:length], set())
        return hits

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
            self._terms[term_id] = term
            self._term_refs[term_id] = 0
            if term.kind is TermKind.PREFIX:
                self._by_prefix[term.words[0]].add(term_id)
                self._prefix_lengths[len(term.words[0])] += 1
            else:
                self._by_anchor[term.words[0]].add(term_id)
        self._term_refs[term_id] += 1
        return term_id

    def _release_term(self, term_id: int) -> None:
        self._term_refs[term_id] -= 1
        if self._term_refs[term_id] > 0:
            return
        term = self._terms.pop(term_id)
        del self._term_refs[term_id]
        del self._term_ids[term]
        stem = term.words[0]
        table = self._by_prefix if term.kind is TermKind.PREFIX else self._by_anchor
        table[stem].discard(term_id)
        if not table[stem]:
            del table[stem]
        if term.kind is TermKind.PREFIX:
            self._prefix_lengths[len(stem)] -= 1
            if not self._prefix_lengths[len(stem)]:
                del self._prefix_lengths[len(stem)]


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


def _anchors(word: str) -> list[str]:
    """Return the query words a story word can match: itself, or it minus a plural suffix."""
    anchors = [word]
    anchors += [word[: -len(suffix)] for suffix in PLURAL_SUFFIXES if word.endswith(suffix)]
    return [anchor for anchor in anchors if anchor]


def _phrase_at(term: Term, words: Sequence[str], starts: Sequence[int]) -> bool:
    length = len(term.words)
    return any(
        start + length <= len(words)
        and all(word_matches(term.words[k], words[start + k]) for k in range(1, length))
        for start in starts
    )


def _satisfied(indexed: _IndexedQuery, hits: set[int]) -> bool:
    if any(term_id in hits for term_id in indexed.excluded):
        return False
    return all(any(term_id in hits for term_id in group) for group in indexed.groups)
