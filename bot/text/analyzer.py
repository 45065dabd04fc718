"""Turn a story's text into what the index matches on: words, their lemmas, their case.

A story's words and a query's words come out of the same tokenizer (normalize.tokenize), and
a story in Ukrainian or Russian is also indexed under the dictionary forms of its words
(morphology.py), as keys "uk:україна" / "ru:украина": a query word's lemmas are looked up
the same way (bot/matching/expand.py), so "Україна" finds "України", "Україною"... The
language prefix keeps one language's lemma from meeting another language's word.

This runs in the parser workers (bot/ingest/prepare.prepare_feed), never on the event loop.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from bot.text.language import MORPHOLOGY_LANGUAGES, story_language
from bot.text.morphology import lemmatizer
from bot.text.normalize import tokenize_and_split

# How a word was written, per position: some names count only capitalised or in capitals
# (Italian "nato" is "born"; French "un" is "a"), and only the story knows how it wrote them.
LOWER, CAPITALISED, UPPER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class AnalyzedText:
    """A text as the index sees it.

    words: folded words in order (positions for phrases). extra: (position, key) pairs for
    the lemma keys of words whose lemma differs from the word. cases: one byte per word,
    LOWER, CAPITALISED or UPPER. language: what matching treats the text as (None: unknown).
    """

    words: tuple[str, ...]
    extra: tuple[tuple[int, str], ...] = ()
    cases: bytes = b""
    language: str | None = None

    def positioned_keys(self) -> Iterator[tuple[int, str]]:
        """Yield every (position, key): each word, then each extra lemma key."""
        yield from enumerate(self.words)
        yield from self.extra

    def case_at(self, position: int) -> int:
        """Return how the word at position was written (LOWER when unknown)."""
        return self.cases[position] if position < len(self.cases) else LOWER


# The analysis of a story that alerts nobody (a new feed's first poll): no words.
NOTHING = AnalyzedText(words=())


def plain(words: tuple[str, ...] | list[str]) -> AnalyzedText:
    """Return already-tokenized words as an AnalyzedText with no lemmas, case or language."""
    return AnalyzedText(words=tuple(words))


# Cached: a story repeats its words and stories share theirs, and a hit costs no Python
# frame; the bound keeps a worker's memory flat whatever it reads.
@lru_cache(maxsize=8192)
def _case(written: str) -> int:
    if not written[:1].isupper():
        return LOWER
    return UPPER if written.isupper() else CAPITALISED


def analyze(text: str, language: str | None = None, *, morphology: bool = True) -> AnalyzedText:
    """Return the index view of a story's text.

    language is what the feed declares (its <language>), or None; the story's language is
    decided from it and the text's script (bot.text.language.story_language).
    morphology=False leaves out the lemma keys (for benchmarks: what they cost).
    """
    words, written = tokenize_and_split(text)
    # tokenize folds before splitting; the few characters whose folding splits a word
    # (Turkish İ) leave the two lists unaligned, and then the case is unknown (LOWER).
    cases = bytes(map(_case, written)) if len(written) == len(words) else b""
    detected = story_language(language, text) if words else language
    extra: list[tuple[int, str]] = []
    if morphology and detected in MORPHOLOGY_LANGUAGES:
        keys_of = lemmatizer(detected).lemma_keys_of(words)
        extra = [(position, key) for position, keys in enumerate(keys_of) if keys for key in keys]
    return AnalyzedText(tuple(words), tuple(extra), cases, detected)
