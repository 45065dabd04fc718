"""The query language's vocabulary: its terms, operators and the error a bad query raises."""

from dataclasses import dataclass
from enum import Enum

from bot.i18n import t

MIN_PREFIX_LENGTH = 2
OR_OPERATOR = "OR"
NEAR_OPERATOR = "near/"  # compared case-insensitively: NEAR/5, near/5
MAX_NEAR_DISTANCE = 20
SOURCE_PREFIX = "source:"  # compared case-insensitively
MIN_SOURCE_LENGTH = 2  # letters or digits of an outlet's name


class QueryError(ValueError):
    """The text is not a valid query; str(error) explains why in plain words.

    The reason is a catalogue msgid and its parameters, so it can be shown in any locale.
    """

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        """The reason in the current locale (read when shown, not when raised)."""
        return t(self.msgid, **self.params)


class TermKind(Enum):
    """How a term is compared with a story's words."""

    WORD = "word"  # the word, its plural, its lemmas, its aliases in other languages
    EXACT = "exact"  # a quoted single word: that word only, as Google reads "word"
    PREFIX = "prefix"
    PHRASE = "phrase"
    NEAR = "near"  # two terms (near) within distance words of each other, either order


@dataclass(frozen=True, order=True)
class Term:
    """One searchable unit: a word, a word prefix, or a phrase of adjacent words."""

    kind: TermKind
    words: tuple[str, ...]  # a NEAR term: both terms' words, for what reads words only
    near: tuple["Term", ...] = ()  # a NEAR term's two terms, in canonical order
    distance: int = 0

    @property
    def canonical(self) -> str:
        """Return the term as it appears in a normalised query."""
        if self.kind is TermKind.NEAR:
            first, second = self.near
            return f"{first.canonical} NEAR/{self.distance} {second.canonical}"
        if self.kind is TermKind.PREFIX:
            return self.words[0] + "*"
        if self.kind in (TermKind.PHRASE, TermKind.EXACT):
            return '"' + " ".join(self.words) + '"'
        return self.words[0]


def near_term(first: Term, second: Term, distance: int) -> Term:
    """Return the term `first NEAR/distance second` (the same for either order)."""
    pair = tuple(sorted((first, second), key=term_order))
    return Term(TermKind.NEAR, pair[0].words + pair[1].words, pair, distance)


def term_order(term: Term) -> tuple[str, str]:
    """Return the key terms are sorted by in a normalised query."""
    return (term.canonical, term.kind.value)


def source_canonical(source: str) -> str:
    """Return a source filter as a normalised query writes it."""
    return SOURCE_PREFIX + (f'"{source}"' if " " in source else source)
