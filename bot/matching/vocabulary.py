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
    words: tuple[str, ...]

    @property
    def near(self) -> tuple["Term", ...]:
        """Return a NEAR term's two terms (none for any other term)."""
        return ()

    @property
    def canonical(self) -> str:
        """Return the term as it appears in a normalised query."""
        if self.kind is TermKind.PREFIX:
            return self.words[0] + "*"
        if self.kind in (TermKind.PHRASE, TermKind.EXACT):
            return '"' + " ".join(self.words) + '"'
        return self.words[0]


# A subclass, not two more fields of Term: most terms are words, and a frozen dataclass
# pays for every field it sets (the index parses every distinct query when it is built).
@dataclass(frozen=True, order=True)
class NearTerm(Term):
    """Two terms within `distance` words of each other, either order (kind NEAR).

    words: both terms' words, for what reads words only.
    """

    pair: tuple[Term, Term]
    distance: int

    @property
    def near(self) -> tuple[Term, ...]:
        """Return the two terms, in canonical order."""
        return self.pair

    @property
    def canonical(self) -> str:
        """Return the term as it appears in a normalised query."""
        first, second = self.pair
        return f"{first.canonical} NEAR/{self.distance} {second.canonical}"


def near_term(first: Term, second: Term, distance: int) -> NearTerm:
    """Return the term `first NEAR/distance second` (the same for either order)."""
    one, other = sorted((first, second), key=term_order)
    return NearTerm(TermKind.NEAR, one.words + other.words, (one, other), distance)


def term_order(term: Term) -> tuple[str, str]:
    """Return the key terms are sorted by in a normalised query."""
    return (term.canonical, term.kind.value)


def source_canonical(source: str) -> str:
    """Return a source filter as a normalised query writes it."""
    return SOURCE_PREFIX + (f'"{source}"' if " " in source else source)
