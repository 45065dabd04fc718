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
_DICTIONARY_APOSTROPHE = "'"
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
        dictionary = self._morph.dictionary
        self._paradigms = dictionary.paradigms
        self._prefixes = dictionary.paradigm_prefixes
        self._suffixes = dictionary.suffixes
        self._get = dictionary.words.get
        self._similar_items = dictionary.words.similar_items
        self._substitutes = self._morph.char_substitutes
        # The letters the dictionary may spell otherwise (е as ё in Russian, г as ґ in
        # Ukrainian): a word with none of them is looked up as it is, ~2x cheaper.
        self._substituted = frozenset(letter.decode() for letter in self._substitutes)
        # Per paradigm and form (a bounded set): how a word of that form becomes its normal form.
        self._to_normal: dict[tuple[int, int], tuple[int, int, str, str]] = {}

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
        # str.replace, not str.translate: translating non-ASCII text is ~1 µs a word.
        forms = self._dictionary_forms(word.replace(WORD_APOSTROPHE, _DICTIONARY_APOSTROPHE))
        return tuple(
            sorted({fold(form).replace(_DICTIONARY_APOSTROPHE, WORD_APOSTROPHE) for form in forms})
        )

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
        memo = self._keys_memo
        if all(map(memo.__contains__, words)):  # the steady state: every word seen before
            return list(map(memo.__getitem__, words))
        return [memo.get(word) or self.lemma_keys(word) for word in words]

    def _dictionary_forms(self, word: str) -> set[str] | list[str]:
        # What pymorphy3's DictionaryAnalyzer does for a known word (same lemmas, checked by
        # tests/test_analyzer.py), without the tags and scores matching has no use for.
        if self._substituted.isdisjoint(word):
            parses = self._get(word)
            found = ((word, parses),) if parses else ()
        else:
            found = self._similar_items(word, self._substitutes)
        forms = set()
        for fixed, parses in found:
            for paradigm, index in parses:
                if index == 0:  # the normal form itself
                    forms.add(fixed)
                    continue
                to_normal = self._to_normal.get((paradigm, index))
                if to_normal is None:
                    to_normal = self._normal_form_rule(paradigm, index)
                cut_prefix, cut_suffix, prefix, suffix = to_normal
                forms.add(prefix + fixed[cut_prefix : len(fixed) - cut_suffix] + suffix)
        return forms or self._morph.normal_forms(word)

    def _normal_form_rule(self, paradigm_id: int, index: int) -> tuple[int, int, str, str]:
        # pymorphy3's Dictionary.build_normal_form, its lookups done once per form: a word's
        # stem is the word less its form's prefix and suffix, its normal form the stem with
        # the paradigm's first prefix and suffix.
        paradigm = self._paradigms[paradigm_id]
        size = len(paradigm) // 3
        rule = (
            len(self._prefixes[paradigm[size * 2 + index]]),
            len(self._suffixes[paradigm[index]]),
            self._prefixes[paradigm[size * 2]],
            self._suffixes[paradigm[0]],
        )
        self._to_normal[(paradigm_id, index)] = rule
        return rule

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
