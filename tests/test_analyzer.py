"""One analysis for stories and queries: words, Ukrainian/Russian lemmas, case, language."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.prepare import prepare_feed
from bot.matching.index import SubscriptionIndex
from bot.matching.query import parse_query
from bot.text.analyzer import CAPITALISED, LOWER, UPPER, analyze
from bot.text.language import language_tag, script_language, story_language
from bot.text.morphology import analyzer, lemma_key, lemmatizer
from bot.text.normalize import fold, tokenize

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Новини</title><link>https://news.example/</link>
<language>{language}</language>
<item><title>Удари по Україні тривають</title><guid>g1</guid>
<description>Сили ППО працювали вночі над Києвом.</description></item>
</channel></rss>"""


@given(st.text(max_size=200), st.sampled_from([None, "en", "uk", "ru"]))
def test_the_words_are_the_folded_tokens_whatever_the_language(
    text: str, language: str | None
) -> None:
    analyzed = analyze(text, language)
    assert list(analyzed.words) == tokenize(text)
    assert all(position < len(analyzed.words) for position, _ in analyzed.extra)
    assert len(analyzed.cases) in (0, len(analyzed.words))


def test_a_ukrainian_story_is_indexed_under_its_lemmas_too() -> None:
    analyzed = analyze("Удари по Україні, заява Зеленського", "uk")
    keys = {key for _, key in analyzed.positioned_keys()}
    assert {"україні", "зеленського"} <= keys
    assert {lemma_key("uk", "україна"), lemma_key("uk", "зеленський")} <= keys
    # A word that is its own lemma is not repeated as a lemma key.
    assert lemma_key("uk", "по") not in keys


def test_all_parses_count_not_the_first() -> None:
    # Києві is a form of Київ and of кий (cue): the dictionary has no probabilities to choose.
    assert set(lemmatizer("uk").lemmas("києві")) == {"київ", "кий"}


def test_a_query_word_in_its_dictionary_form_stands_for_itself() -> None:
    assert lemmatizer("uk").query_lemmas("нато") == ("нато",)  # not also "ната"
    assert lemmatizer("uk").query_lemmas("україни") == ("україна",)


def test_yo_is_folded_to_ye_on_both_sides() -> None:
    assert tokenize("Королёв") == tokenize("Королев") == ["королев"]
    assert all("ё" not in key for _, key in analyze("Ёлки зелёные", "ru").positioned_keys())


def test_a_ukrainian_apostrophe_keeps_the_word_whole() -> None:
    assert tokenize("об'єднання п’ять Мар`їнка") == ["обʼєднання", "пʼять", "марʼїнка"]
    # French elision still splits: l'Ukraine names Ukraine.
    assert tokenize("l'Ukraine d’Italie") == ["l", "ukraine", "d", "italie"]


def test_case_is_kept_per_word() -> None:
    assert analyze("la Nato e nato UN").cases == bytes([LOWER, CAPITALISED, LOWER, LOWER, UPPER])


@pytest.mark.parametrize(
    ("declared", "text", "expected"),
    [
        ("uk", "Some English words", "uk"),
        ("ru-RU", "", "ru"),
        ("ua", "", "uk"),
        ("en-us", "Україна і світ", "uk"),  # a Ukrainian site left its CMS default
        (None, "Россия и мир: объявлено", "ru"),
        (None, "Путин", None),  # no letter only one of the two writes
        ("de", "Die Ukraine", "de"),
        (None, "Ukraine", None),
    ],
)
def test_story_language(declared: str | None, text: str, expected: str | None) -> None:
    assert story_language(declared, text) == expected


def test_language_tags_and_script() -> None:
    assert language_tag(" uk-UA ") == "uk"
    assert language_tag("") is None
    assert script_language("Ще не вмерла України і слава") == "uk"
    assert script_language("Mostly Latin text with one слово ы") is None


def test_a_feed_in_ukrainian_reaches_the_index_through_its_lemmas() -> None:
    body = RSS.format(language="uk").encode()
    prepared = prepare_feed(1, body, {"content-type": "application/rss+xml"}, "https://x/", 0.0)
    analyzed = prepared.stories[0].analyzed
    assert analyzed.language == "uk"
    index = SubscriptionIndex()
    for chat, query in enumerate(["Україна", "Київ", "Ukraine", "Kyiv", '"Ukraine"'], start=1):
        index.add(chat, parse_query(query).normalised, query)
    assert index.match(analyzed) == {1: ("Україна",), 2: ("Київ",), 3: ("Ukraine",), 4: ("Kyiv",)}


def test_without_morphology_a_story_keeps_its_words_case_and_language_but_no_lemmas() -> None:
    body = RSS.format(language="uk").encode()
    headers = {"content-type": "application/rss+xml"}
    full = prepare_feed(1, body, headers, "https://x/", 0.0).stories[0].analyzed
    bare = prepare_feed(1, body, headers, "https://x/", 0.0, morphology=False).stories[0].analyzed
    assert full.extra, "a Ukrainian story has lemma keys"
    assert bare.extra == ()
    assert (bare.words, bare.cases, bare.language) == (full.words, full.cases, full.language)
    assert analyze("Удари по Україні", "uk", morphology=False).extra == ()


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_the_dictionary_shortcut_gives_pymorphy3s_own_lemmas(language: str) -> None:
    morph = analyzer(language)
    words = (
        "україни києві путіна росії заявив року обʼєднання россии путиным заявил ёлки зеленского"
    )
    for word in words.split():
        expected = {
            fold(form).replace("'", "ʼ") for form in morph.normal_forms(word.replace("ʼ", "'"))
        }
        assert set(lemmatizer(language).lemmas(fold(word))) == expected, word
