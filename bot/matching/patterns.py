"""What a query term looks for in a story, and whether a story has it.

A term compiles (expand.py) into patterns: sequences of slots, one per adjacent word. A slot
holds the index keys any of which may stand at that position (the word, its lemmas, their
"uk:"/"ru:" lemma keys), whether an English plural of a key counts, and how the story must
have written the word (some names count only capitalised). A pattern may be limited to
stories in some languages: an alias in Italian is looked for in Italian stories.

StoryView holds one analysed story's words and lemma keys as sets, and finds positions when a
pattern must be checked word by word (pattern_at). The one-query matcher (match.py) checks
every pattern so; the subscription index (terms.py) looks plain patterns up by their forms
and checks only the rest, and tests hold it to the matcher's answers.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import compress, pairwise
from operator import itemgetter

from bot.text.analyzer import CAPITALISED, LOWER, UPPER, AnalyzedText

# A story word matches a query word when it is the word itself or its plural.
PLURAL_SUFFIXES = ("s", "es")
_KEY = itemgetter(1)  # of a (position, lemma key) pair


@dataclass(frozen=True, slots=True)
class Slot:
    """The keys that may stand at one position of a pattern."""

    keys: frozenset[str]
    plural: bool = True  # a word that is a key plus "s" or "es" counts too
    case: int = LOWER  # the least the story's word must be: LOWER, CAPITALISED or UPPER


@dataclass(frozen=True, slots=True)
class Pattern:
    """Adjacent slots; languages: the story languages it applies to (None: all)."""

    slots: tuple[Slot, ...]
    languages: frozenset[str] | None = None

    def applies_to(self, language: str | None) -> bool:
        """Tell whether stories in language are searched for this pattern."""
        return self.languages is None or language is None or language in self.languages


@dataclass(frozen=True, slots=True)
class CompiledTerm:
    """A term as matching uses it: patterns, a word prefix, or two terms near each other."""

    patterns: tuple[Pattern, ...] = ()
    prefix: str | None = None
    near: tuple["CompiledTerm", "CompiledTerm"] | None = None
    distance: int = 0  # of near: the most their positions may differ


def singulars(word: str) -> list[str]:
    """Return the words a story word is the English plural of (it minus s or es)."""
    return [word[: -len(s)] for s in PLURAL_SUFFIXES if word.endswith(s) and len(word) > len(s)]


def forms(slot: Slot) -> frozenset[str]:
    """Return the story words that fill the slot, case aside: its keys and their plurals.

    A lemma key ("uk:україна") is a form too, though only a story's lemma keys (never its
    words) carry one; an empty key has no plural (singulars never returns "").
    """
    if not slot.plural:
        return slot.keys
    plurals = {key + suffix for key in slot.keys if key for suffix in PLURAL_SUFFIXES}
    return slot.keys | plurals


class StoryView:
    """One analysed story, looked up by key: which words and lemma keys it has, and where.

    The sets are built at once (C speed); positions only when a pattern is checked word by
    word, which most stories never need (the index finds most terms by set intersection).
    """

    __slots__ = ("_extra_at", "_extra_positions", "_written", "extra_keys", "text", "words")

    def __init__(self, text: AnalyzedText) -> None:
        # Sets, not frozensets: intersecting a dict's keys with a set walks the smaller of
        # the two, with anything else it walks the other side whatever its size.
        self.text = text
        self.words = set(text.words)
        self.extra_keys = set(map(_KEY, text.extra)) if text.extra else set()
        # The words written at least capitalised, and in capitals, somewhere in the story.
        self._written = (self.words, *(_written(text, case) for case in (CAPITALISED, UPPER)))
        self._extra_positions: dict[str, list[int]] | None = None
        self._extra_at: dict[int, list[str]] | None = None

    def written_at_least(self, case: int) -> set[str]:
        """Return the words written somewhere at least as case asks (LOWER: every word)."""
        return self._written[case]

    def positions(self, word: str) -> list[int]:
        """Return where the word stands in the story, in order."""
        if word not in self.words:
            return []
        words = self.text.words
        found: list[int] = []
        at = -1
        for _ in range(words.count(word)):
            at = words.index(word, at + 1)
            found.append(at)
        return found

    def extra_positions(self, key: str) -> list[int]:
        """Return the positions whose word has the lemma key."""
        if self._extra_positions is None:
            self._index_extra()
            assert self._extra_positions is not None
        return self._extra_positions.get(key, [])

    def extra_at(self, position: int) -> list[str]:
        """Return the lemma keys of the word at position."""
        if self._extra_at is None:
            self._index_extra()
            assert self._extra_at is not None
        return self._extra_at.get(position, [])

    def _index_extra(self) -> None:
        self._extra_positions = defaultdict(list)
        self._extra_at = defaultdict(list)
        for position, key in self.text.extra:
            self._extra_positions[key].append(position)
            self._extra_at[position].append(key)

    def word_pairs(self) -> Iterator[tuple[str, str]]:
        """Yield every pair of adjacent words."""
        return pairwise(self.text.words)

    def extra_pairs(self, keys: AbstractSet[str]) -> set[tuple[str, str]]:
        """Return the adjacent pairs with one of these lemma keys on one side or both."""
        words = self.text.words
        pairs: set[tuple[str, str]] = set()
        if not keys:
            return pairs
        for position, key in self.text.extra:
            if key not in keys:
                continue
            if position + 1 < len(words):
                pairs.add((key, words[position + 1]))
                pairs.update((key, after) for after in self.extra_at(position + 1))
            if 0 < position < len(words):
                pairs.add((words[position - 1], key))
        return pairs

    def slot_at(self, slot: Slot, position: int) -> bool:
        """Tell whether the story's word at position fills the slot."""
        text = self.text
        if position >= len(text.words) or text.case_at(position) < slot.case:
            return False
        word = text.words[position]
        if word in slot.keys or any(key in slot.keys for key in self.extra_at(position)):
            return True
        return slot.plural and any(single in slot.keys for single in singulars(word))

    def starts(self, slot: Slot) -> Iterable[int]:
        """Yield the positions whose word may fill the slot (before its case is checked)."""
        for key in slot.keys:
            yield from self.positions(key)
            if self.extra_keys:
                yield from self.extra_positions(key)
            if slot.plural:
                for suffix in PLURAL_SUFFIXES:
                    yield from self.positions(key + suffix)


# bytes.translate tables: a story's cases to one byte per word, 1 where written at least so.
_AT_LEAST = {case: bytes(int(byte >= case) for byte in range(256)) for case in (CAPITALISED, UPPER)}


def _written(text: AnalyzedText, case: int) -> set[str]:
    if not text.cases:
        return set()
    return set(compress(text.words, text.cases.translate(_AT_LEAST[case])))


def pattern_at(pattern: Pattern, view: StoryView, starts: Iterable[int]) -> bool:
    """Tell whether the pattern stands in the story at one of the start positions."""
    if not pattern.applies_to(view.text.language):
        return False
    slots = pattern.slots
    first = slots[0]
    return any(
        view.text.case_at(start) >= first.case
        and all(view.slot_at(slots[k], start + k) for k in range(1, len(slots)))
        for start in starts
    )


def term_occurs(term: CompiledTerm, view: StoryView) -> bool:
    """Tell whether the story has the term (the one-query matcher; the index is faster)."""
    if term.near is not None:
        return near_occurs(term, view)
    if term.prefix is not None:
        return any(word.startswith(term.prefix) for word in view.words)
    return any(
        pattern_at(pattern, view, view.starts(pattern.slots[0])) for pattern in term.patterns
    )


def spans(term: CompiledTerm, view: StoryView) -> list[tuple[int, int]]:
    """Return where the term stands in the story: (first, last) word positions."""
    if term.prefix is not None:
        prefix = term.prefix
        return [(at, at) for at, word in enumerate(view.text.words) if word.startswith(prefix)]
    found: list[tuple[int, int]] = []
    for pattern in term.patterns:
        if not pattern.applies_to(view.text.language):
            continue
        last = len(pattern.slots) - 1
        found += [
            (start, start + last)
            for start in set(view.starts(pattern.slots[0]))
            if pattern_at(pattern, view, (start,))
        ]
    return found


def near_occurs(term: CompiledTerm, view: StoryView) -> bool:
    """Tell whether a NEAR term's two terms stand within its distance, in either order.

    The distance is how far apart their nearest words are (1: side by side); terms that
    overlap ("new york" NEAR/2 york) count as near.
    """
    assert term.near is not None
    first = spans(term.near[0], view)
    second = spans(term.near[1], view) if first else []
    return any(
        max(other_start - end, start - other_end, 0) <= term.distance
        for start, end in first
        for other_start, other_end in second
    )
