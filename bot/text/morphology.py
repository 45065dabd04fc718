"""Dictionary forms (lemmas) of Ukrainian and Russian words, from pymorphy3's dictionaries.

Both languages inflect nouns and names (України, Україні, Україну; Путина, Путиным), so a
word is matched through its lemmas as well as itself. pymorphy3 was measured best here:
with its dictionaries of names it brings every case form of Україна/Украина, Путін/Путин,
Росія/Россия and Зеленський/Зеленский to its lemma.

A dictionary takes ~0.1 s and ~25 MB to load, so each language loads on first use, once per
process (a parser worker, or the bot for queries). A known word is looked up in the
dictionary directly (~6 µs with the C DAWG); only a word the dictionary does not know goes
through pymorphy3's whole analyser, whose guesses from the ending cost ~150 µs. News repeats
its words, so each process also keeps what it looked up.
"""

import functools
import threading
from collections.abc import Sequence

import pymorphy3

from bot.text.language import MORPHOLOGY_LANGUAGES, is_cyrillic
from bot.text.normalize import WORD_APOSTROPHE, fold

# Words looked up per language before the memo starts over (~150 bytes each).
MEMO_WORDS = 200_000
# pymorphy3's dictionaries write the Ukrainian apostrophe as U+0027.
_TO_DICTIONARY = str.maketrans(WORD_APOSTROPHE, "'")
_FROM_DICTIONARY = str.maketrans("'", WORD_APOSTROPHE)
_LOAD_LOCK = threading.Lock()


def lemma_key(language: str, lemma: str) -> str:
    """Return the index key of a lemma in a language ("uk:україна")."""
    return f"{language}:{lemma}"


@functools.cache
def _analyzer(language: str) -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang=language)


def analyzer(language: str) -> pymorphy3.MorphAnalyzer:
    """Return the language's analyser, loading its dictionary once per process."""
    with _LOAD_LOCK:  # the bot may load from a thread while the loop asks for it too
        return _analyzer(language)


class Lemmatizer:
    """The lemmas of one language's words, remembered per process."""

    def __init__(self, language: str) -> None:
        if language not in MORPHOLOGY_LANGUAGES:
            raise ValueError(f"no morphology for {language!r}")
        self.language = language
        self._morph = analyzer(language)
        self._memo: dict[str, tuple[str, ...]] = {}
        self._keys_memo: dict[str, tuple[str, ...]] = {}

    def lemmas(self, word: str) -> tuple[str, ...]:
        """Return every dictionary form of a folded word, from all its parses, folded.

        All parses, not the likeliest: the Ukrainian dictionary has no probabilities, and a
        word form may belong to two lemmas (Києві: Київ and кий). A word the dictionary does
        not know gets pymorphy3's guesses from its ending.
        """
        known = self._memo.get(word)
        if known is None:
            known = self._lemmas(word)
            if len(self._memo) >= MEMO_WORDS:
                self._memo.clear()
            self._memo[word] = known
        return known

    def _lemmas(self, word: str) -> tuple[str, ...]:
        forms = self._dictionary_forms(word.translate(_TO_DICTIONARY))
        return tuple(sorted({fold(form).translate(_FROM_DICTIONARY) for form in forms}))

    def lemma_keys(self, word: str) -> tuple[str, ...]:
        """Return the index keys ("uk:україна") of a story word's lemmas other than itself.

        The analyzer's hot path (every word of every uk/ru story): one dictionary lookup
        when the word was seen before, and nothing more for a word that is not Cyrillic.
        """
        keys = self._keys_memo.get(word)
        if keys is None:
            # Its own memo only: a story word's lemmas are not kept twice.
            lemmas = self._lemmas(word) if is_cyrillic(word) else ()
            keys = tuple(lemma_key(self.language, lemma) for lemma in lemmas if lemma != word)
            if len(self._keys_memo) >= MEMO_WORDS:
                self._keys_memo.clear()
            self._keys_memo[word] = keys
        return keys

    def lemma_keys_of(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        """Return lemma_keys of each word, in order: a remembered word costs no Python call."""
        known = map(self._keys_memo.get, words)
        return [
            self.lemma_keys(word) if keys is None else keys
            for word, keys in zip(words, known, strict=True)
        ]

    def _dictionary_forms(self, word: str) -> set[str] | list[str]:
        # What pymorphy3's DictionaryAnalyzer does for a known word (same lemmas, checked by
        # tests/test_analyzer.py), without the tags and scores matching has no use for.
        dictionary = self._morph.dictionary
        forms = {
            dictionary.build_normal_form(paradigm, index, fixed)
            for fixed, parses in dictionary.words.similar_items(word, self._morph.char_substitutes)
            for paradigm, index in parses
        }
        return forms or self._morph.normal_forms(word)

    def query_lemmas(self, word: str) -> tuple[str, ...]:
        """Return the lemmas a query word stands for.

        A word typed in its dictionary form stands for itself only: "НАТО" is also a form
        of the name "Ната", and "Київ" of "кий" (cue), and a reader who asks for НАТО does
        not mean those. An inflected query word ("України") stands for all its lemmas.
        """
        forms = self.lemmas(word)
        return (word,) if word in forms else forms


@functools.cache
def lemmatizer(language: str) -> Lemmatizer:
    """Return the process's lemmatizer of a language (uk or ru)."""
    return Lemmatizer(language)
