"""What a query term looks for in a story, and whether a story has it.

A term compiles (expand.py) into patterns: sequences of slots, one per adjacent word. A slot
holds the index keys any of which may stand at that position (the word, its lemmas, their
"uk:"/"ru:" lemma keys), whether an English plural of a key counts, and how the story must
have written the word (some names count only capitalised). A pattern may be limited to
stories in some languages: an alias in Italian is looked for in Italian stories.

StoryView indexes one analysed story by key once; the subscription index and the one-query
matcher (match.py) both decide through pattern_at, so they cannot disagree.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.text.analyzer import LOWER, AnalyzedText

# A story word matches a query word when it is the word itself or its plural.
PLURAL_SUFFIXES = ("s", "es")


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
    """A term as matching uses it: patterns, or a word prefix."""

    patterns: tuple[Pattern, ...] = ()
    prefix: str | None = None


def singulars(word: str) -> list[str]:
    """Return the words a story word is the English plural of (it minus s or es)."""
    return [word[: -len(s)] for s in PLURAL_SUFFIXES if word.endswith(s) and len(word) > len(s)]


class StoryView:
    """One analysed story, looked up by key: where each word and lemma key stands."""

    __slots__ = ("extra_at", "extra_positions", "text", "word_positions")

    def __init__(self, text: AnalyzedText) -> None:
        self.text = text
        self.word_positions: dict[str, list[int]] = defaultdict(list)
        for position, word in enumerate(text.words):
            self.word_positions[word].append(position)
        self.extra_positions: dict[str, list[int]] = defaultdict(list)
        self.extra_at: dict[int, list[str]] = defaultdict(list)
        for position, key in text.extra:
            self.extra_positions[key].append(position)
            self.extra_at[position].append(key)

    def slot_at(self, slot: Slot, position: int) -> bool:
        """Tell whether the story's word at position fills the slot."""
        text = self.text
        if position >= len(text.words) or text.case_at(position) < slot.case:
            return False
        word = text.words[position]
        if word in slot.keys or any(key in slot.keys for key in self.extra_at.get(position, ())):
            return True
        return slot.plural and any(single in slot.keys for single in singulars(word))

    def starts(self, slot: Slot) -> Iterable[int]:
        """Yield the positions whose word may fill the slot (before its case is checked)."""
        for key in slot.keys:
            yield from self.word_positions.get(key, ())
            yield from self.extra_positions.get(key, ())
            if slot.plural:
                for suffix in PLURAL_SUFFIXES:
                    yield from self.word_positions.get(key + suffix, ())


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
    if term.prefix is not None:
        return any(word.startswith(term.prefix) for word in view.word_positions)
    return any(
        pattern_at(pattern, view, view.starts(pattern.slots[0])) for pattern in term.patterns
    )
