"""Which of every subscription's terms a story holds, found by set intersection.

Most patterns are plain: one word, or two adjacent words, with no case rule and no language
(a reader's own word, a phrase). Every form of a plain pattern (its keys and, where plurals
count, their plurals) is a key of a dictionary, so a story's plain terms come from
intersecting its set of words, and its adjacent word pairs, with those dictionaries: C-speed
work, not a Python step per word. A word's prefix terms are looked up once per prefix length
in use, and remembered per word. A one-word pattern with a case rule (a name) is looked up
by the words the story wrote capitalised (or in capitals), then its languages are checked.

What is left (longer patterns with a case rule or languages, and whatever a story's lemma
keys reach) are candidates only: found by their first slot's forms, then checked word by word
through patterns.pattern_at, as the one-query matcher (match.py) checks every pattern.

A NEAR term is filed under its two terms, indexed as terms of their own: only a story that
holds both is checked for their positions (patterns.near_occurs).
"""

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from operator import itemgetter
from typing import Any, Generic, TypeVar

from bot.matching.expand import compiled
from bot.matching.patterns import (
    CompiledTerm,
    Pattern,
    StoryView,
    forms,
    near_occurs,
    pattern_at,
    term_occurs,
)
from bot.matching.query import Term
from bot.text.analyzer import CAPITALISED, LOWER, UPPER

_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value", bound=Hashable)
_Reach = TypeVar("_Reach")
_TERMS, _REACHED = itemgetter(0), itemgetter(1)  # of a story word's entry
# Where a term is filed: one of the dictionaries below, a key there, and what is filed.
_Entry = tuple[dict[Any, set[Any]], Hashable, Hashable]
# Story words remembered before the memo starts over (~150 B each, most of them).
MEMO_WORDS = 100_000
_NO_TERMS: frozenset[int] = frozenset()
# How a story must have written a word, as index: LOWER (any way), CAPITALISED, UPPER.
CASES = (LOWER, CAPITALISED, UPPER)
# Patterns filed by form, as (term id, pattern index).
_Filed = dict[str, set[tuple[int, int]]]


def union(by_key: Mapping[_Key, AbstractSet[_Value]], keys: Iterable[_Key]) -> set[_Value]:
    """Return the union of the sets filed under the keys present (C-speed throughout)."""
    return set().union(*map(by_key.__getitem__, by_key.keys() & keys))


def _plain(pattern: Pattern) -> bool:
    """Tell whether a story's words alone decide the pattern (no case, no language)."""
    return pattern.languages is None and all(slot.case == LOWER for slot in pattern.slots)


class TermIndex(Generic[_Reach]):
    """Every distinct term of the indexed subscriptions, by id, and what finds each.

    reach: what the index makes of a set of terms (the queries they file), remembered with
    each story word's terms; call reached_changed when what a term reaches changes.
    """

    def __init__(self, reach: Callable[[AbstractSet[int]], _Reach]) -> None:
        self._ids: dict[Term, int] = {}
        self._terms: dict[int, CompiledTerm] = {}
        self._term_of: dict[int, Term] = {}
        self._refs: dict[int, int] = {}
        self._next_id = 0
        # Plain one-word patterns: by each form (what a story word may be), and by each key
        # (what a story's lemma key may be: a lemma key never counts as a plural).
        self._by_form: dict[str, set[int]] = defaultdict(set)
        self._by_key: dict[str, set[int]] = defaultdict(set)
        # Plain two-word patterns, by each pair of forms, and the forms either side (a story's
        # lemma keys among them are the only ones worth pairing).
        self._by_pair: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._pair_sides: dict[str, set[int]] = defaultdict(set)
        # One-word patterns with a case rule or languages, by form, per case rule (LOWER,
        # CAPITALISED, UPPER): (term id, pattern index). A story word written at least so
        # decides them, once the language applies.
        self._single: tuple[_Filed, ...] = tuple(defaultdict(set) for _ in CASES)
        # Longer patterns with a case rule or languages, by their first slot's forms, per case
        # rule: (term id, pattern index) to check word by word.
        self._checked: tuple[_Filed, ...] = tuple(defaultdict(set) for _ in CASES)
        self._by_prefix: dict[str, set[int]] = defaultdict(set)
        self._prefix_lengths: dict[int, int] = defaultdict(int)
        # NEAR terms by each of their two terms' ids, and those ids by NEAR term.
        self._near_of: dict[int, set[int]] = defaultdict(set)
        self._operands: dict[int, tuple[int, ...]] = {}
        self._words = _Words(self._by_form, self._by_prefix, self._prefix_lengths, reach)

    def __len__(self) -> int:
        """Return how many distinct terms are indexed."""
        return len(self._terms)

    def acquire(self, term: Term) -> int:
        """Return the term's id, indexing it on its first use."""
        term_id = self._ids.get(term)
        if term_id is None:
            operands = tuple(map(self.acquire, term.near))
            term_id = self._next_id
            self._next_id += 1
            self._ids[term] = term_id
            self._term_of[term_id] = term
            self._refs[term_id] = 0
            compiled_term = self._terms[term_id] = compiled(term)
            if operands:
                self._operands[term_id] = operands
                for operand in operands:
                    self._near_of[operand].add(term_id)
            if compiled_term.prefix is not None:
                self._prefix_lengths[len(compiled_term.prefix)] += 1
            for by_key, key, filed in self._entries(term_id, compiled_term):
                by_key[key].add(filed)
                self._words.forget(by_key, key)
        self._refs[term_id] += 1
        return term_id

    def reached_changed(self, term_id: int) -> None:
        """Forget what the words that hold the term by themselves reach."""
        if not self._words:  # nothing remembered yet (while the index is built)
            return
        for by_key, key, _ in self._entries(term_id, self._terms[term_id]):
            self._words.forget(by_key, key)

    def uses(self, term_id: int) -> int:
        """Return how many queries use the term."""
        return self._refs[term_id]

    def release(self, term_id: int) -> None:
        """Drop one use of a term; forget the term with its last use."""
        self._refs[term_id] -= 1
        if self._refs[term_id] > 0:
            return
        compiled_term = self._terms.pop(term_id)
        del self._refs[term_id]
        del self._ids[self._term_of.pop(term_id)]
        for by_key, key, filed in self._entries(term_id, compiled_term):
            by_key[key].discard(filed)
            if not by_key[key]:
                del by_key[key]
            self._words.forget(by_key, key)
        if compiled_term.prefix is not None:
            length = len(compiled_term.prefix)
            self._prefix_lengths[length] -= 1
            if not self._prefix_lengths[length]:
                del self._prefix_lengths[length]
        for operand in self._operands.pop(term_id, ()):
            self._near_of[operand].discard(term_id)
            if not self._near_of[operand]:
                del self._near_of[operand]
            self.release(operand)

    def _entries(self, term_id: int, term: CompiledTerm) -> list[_Entry]:
        if term.prefix is not None:
            return [(self._by_prefix, term.prefix, term_id)]
        entries: list[_Entry] = []
        for index, pattern in enumerate(term.patterns):
            first = pattern.slots[0]
            if _plain(pattern) and len(pattern.slots) == 1:
                entries += [(self._by_form, form, term_id) for form in forms(first)]
                entries += [(self._by_key, key, term_id) for key in first.keys]
            elif _plain(pattern) and len(pattern.slots) == 2:
                before, after = forms(first), forms(pattern.slots[1])
                entries += [(self._by_pair, (a, b), term_id) for a in before for b in after]
                entries += [(self._pair_sides, side, term_id) for side in before | after]
            else:
                rooms = self._single if len(pattern.slots) == 1 else self._checked
                entries += [(rooms[first.case], form, (term_id, index)) for form in forms(first)]
        return entries

    def hits(self, view: StoryView) -> tuple[set[int], list[_Reach], set[int]]:
        """Return every term the story holds, what its words reach, and the other terms.

        A word reaches what reach (see the class) makes of the terms the word holds by
        itself, remembered per word; the other terms (phrases, names, lemma keys) are found
        otherwise and are in the first set too.
        """
        words = list(map(self._words.__getitem__, view.words))
        found = set().union(*map(_TERMS, words))
        others = union(self._by_pair, view.word_pairs()) if self._by_pair else set()
        language = view.text.language
        candidates: set[tuple[int, int]] = set()
        for case in CASES:
            written = view.written_at_least(case)
            if not written:  # a plain list of words has none written capitalised
                continue
            for term_id, index in union(self._single[case], written):
                if self._terms[term_id].patterns[index].applies_to(language):
                    others.add(term_id)
            candidates |= union(self._checked[case], written)
        if view.extra_keys:
            others |= union(self._by_key, view.extra_keys)
            for room in (*self._single, *self._checked):
                candidates |= union(room, view.extra_keys)
            # A pair with a lemma key is a candidate only: a pair's forms hold plurals, and a
            # lemma key never counts as a plural.
            paired = view.extra_keys & self._pair_sides.keys()
            for term_id in union(self._by_pair, view.extra_pairs(paired)) - found - others:
                if term_occurs(self._terms[term_id], view):
                    others.add(term_id)
        for term_id, index in candidates:
            if term_id not in found and term_id not in others:
                pattern = self._terms[term_id].patterns[index]
                if pattern_at(pattern, view, view.starts(pattern.slots[0])):
                    others.add(term_id)
        if self._near_of:
            held = found | others
            for term_id in union(self._near_of, held):
                if held.issuperset(self._operands[term_id]) and near_occurs(
                    self._terms[term_id], view
                ):
                    others.add(term_id)
        return found | others, list(map(_REACHED, words)), others


class _Words(dict[str, tuple[AbstractSet[int], _Reach]]):
    """What each story word holds by itself: its terms (plain one-word patterns, prefixes)
    and what they reach.

    News repeats its words: a word seen before costs one dictionary lookup, and its prefixes
    (a new string each) are cut once. A word's entry is dropped when a term filed under it
    comes or goes or reaches something else, every entry when a prefix term does.
    """

    def __init__(
        self,
        by_form: dict[str, set[int]],
        by_prefix: dict[str, set[int]],
        lengths: dict[int, int],
        reach: Callable[[AbstractSet[int]], _Reach],
    ) -> None:
        super().__init__()
        self._by_form = by_form
        self._by_prefix = by_prefix
        self._lengths = lengths
        self._reach = reach
        self._nothing: tuple[AbstractSet[int], _Reach] | None = None

    def __missing__(self, word: str) -> tuple[AbstractSet[int], _Reach]:
        # by_form's own set, shared: a change to it drops this entry (forget).
        terms: AbstractSet[int] = self._by_form.get(word, _NO_TERMS)
        for length in self._lengths:
            prefixed = self._by_prefix.get(word[:length])
            if prefixed:
                terms = terms | prefixed
        if len(self) >= MEMO_WORDS:
            self.clear()
        if terms:
            entry = self[word] = (terms, self._reach(terms))
        else:  # most words: one entry for them all
            if self._nothing is None:
                self._nothing = (_NO_TERMS, self._reach(_NO_TERMS))
            entry = self[word] = self._nothing
        return entry

    def forget(self, by_key: dict[Any, set[Any]], key: Hashable) -> None:
        """Drop what a change filed under key (in by_key) makes out of date."""
        if by_key is self._by_prefix:
            self.clear()
        elif by_key is self._by_form and isinstance(key, str):
            self.pop(key, None)
