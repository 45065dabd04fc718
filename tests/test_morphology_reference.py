"""The lemmatizer's dictionary shortcut against pymorphy3's own calls: the same lemma keys.

Lemmatizer looks a word up as it is when it has no letter the dictionary may spell otherwise,
and turns a parse into its normal form by a rule kept per paradigm form. The plain version
below is what it did before: similar_items for every word, Dictionary.build_normal_form for
every parse. Both run on a sample of each dictionary's own word forms (as folded story
words), on those words cut short or lengthened (unknown words, the analyser's guesses) and on
the awkward cases.
"""

import itertools

import pytest

from bot.text.language import is_cyrillic
from bot.text.morphology import Lemmatizer, analyzer, lemma_key
from bot.text.normalize import WORD_APOSTROPHE, fold

SAMPLE_EVERY = 97  # of the first SCANNED word forms: ~5,000 words per language, ~2 s
SCANNED = 500_000
AWKWARD = ["abc", "123", "ёлки", "елки", "все", "всё", "обʼєкт", "пʼять", "ґанок", "києві"]


def plain_lemmas(language: str, word: str) -> tuple[str, ...]:
    morph = analyzer(language)
    dictionary = morph.dictionary
    written = word.replace(WORD_APOSTROPHE, "'")
    forms = {
        dictionary.build_normal_form(paradigm, index, fixed)
        for fixed, parses in dictionary.words.similar_items(written, morph.char_substitutes)
        for paradigm, index in parses
    } or set(morph.normal_forms(written))
    return tuple(sorted({fold(form).replace("'", WORD_APOSTROPHE) for form in forms}))


def plain_lemma_keys(language: str, word: str) -> tuple[str, ...]:
    lemmas = plain_lemmas(language, word) if is_cyrillic(word) else ()
    return tuple(lemma_key(language, lemma) for lemma in lemmas if lemma != word)


def sample_words(language: str) -> list[str]:
    known = analyzer(language).dictionary.iter_known_words("")
    words = sorted(
        {
            fold(word).replace("'", WORD_APOSTROPHE)
            for word, *_ in itertools.islice(known, 0, SCANNED, SAMPLE_EVERY)
        }
    )
    return words + [word[:-1] for word in words[::20]] + [word + "о" for word in words[::20]]


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_the_shortcut_gives_the_plain_lemmas_and_keys(language: str) -> None:
    lemmatizer = Lemmatizer(language)  # its own memo: every word looked up afresh
    for word in sample_words(language) + AWKWARD:
        assert lemmatizer.lemma_keys(word) == plain_lemma_keys(language, word), word
        assert lemmatizer.lemmas(word) == plain_lemmas(language, word), word


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_lemma_keys_of_a_story_are_each_words_keys_in_order(language: str) -> None:
    words = [*sample_words(language)[:200:3], *AWKWARD, "києві", "abc"]
    first = Lemmatizer(language).lemma_keys_of(words)  # cold: every word looked up
    lemmatizer = Lemmatizer(language)
    for word in words[::2]:
        lemmatizer.lemma_keys(word)
    assert lemmatizer.lemma_keys_of(words) == first  # some remembered, some not
    assert lemmatizer.lemma_keys_of(words) == first  # all remembered
    assert first == [plain_lemma_keys(language, word) for word in words]
