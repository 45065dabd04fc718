"""Tests of the query language: parsing, normalising, validating and matching."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.index import SubscriptionIndex
from bot.matching.match import matches_text
from bot.matching.query import (
    MAX_QUERY_LENGTH,
    MAX_QUERY_TERMS,
    QueryError,
    parse_query,
    split_queries,
)
from bot.text.analyzer import analyze
from bot.text.normalize import tokenize

MATCH_CASES = [
    ("word", "Ukraine", "Russia and Ukraine talk", True),
    ("case", "ukraine", "UKRAINE TALKS", True),
    ("cyrillic casefold", "Україна", "УКРАЇНА ПЕРЕМОЖЕ", True),
    ("german sharp s", "Straße", "STRASSE gesperrt", True),
    ("acronym exact", "NATO", "NATO summit", True),
    ("acronym title case", "NATO", "Nato summit", True),
    ("possessive", "NATO", "NATO's summit", True),
    ("curly possessive", "NATO", "NATO’s summit", True),
    ("hashtag", "NATO", "#NATO trends", True),
    ("hyphenated", "NATO", "NATO-led force", True),
    ("not inside word", "NATO", "Donato wins", False),
    ("not suffix of word", "Putin", "Rasputin film", False),
    ("plural s", "sanction", "new sanctions", True),
    ("plural es", "tax", "higher taxes", True),
    ("no reverse plural", "sanctions", "a sanction", False),
    ("no other suffix", "sanction", "sanctioned firms", False),
    ("all words", "Putin Xi", "Xi meets Putin", True),
    ("all words missing one", "Putin Xi", "Putin speaks", False),
    ("phrase adjacent", '"Joe Biden"', "President Joe Biden said", True),
    ("phrase order", '"Joe Biden"', "Biden Joe", False),
    ("phrase gap", '"Joe Biden"', "Joe R. Biden", False),
    ("phrase across punctuation", '"Joe Biden"', "Joe, Biden", True),
    ("exclusion", "NATO -football", "NATO football match", False),
    ("exclusion absent", "NATO -football", "NATO summit", True),
    ("phrase exclusion", 'NATO -"Champions League"', "NATO and Champions League", False),
    ("phrase exclusion partial", 'NATO -"Champions League"', "NATO league of champions", True),
    ("prefix", "Ukrain*", "Ukrainian forces", True),
    ("prefix itself", "Ukrain*", "Ukraine", True),
    ("prefix possessive", "Ukrain*", "Ukraine's army", True),
    ("prefix not inside", "Ukrain*", "pro-Ukrainian", True),
    ("prefix no match", "Ukrain*", "Kraine", False),
    ("or first", "Kyiv OR Kiev", "Kyiv today", True),
    ("or second", "Kyiv OR Kiev", "Kiev in 1990", True),
    ("or neither", "Kyiv OR Kiev", "Lviv", False),
    ("or with and", "Kyiv OR Kiev drone", "Kiev drone attack", True),
    ("or with and missing", "Kyiv OR Kiev drone", "Kiev attack", False),
    ("hyphenated query is a phrase", "NATO-led", "a NATO led mission", True),
    ("abbreviation", "U.S.", "the U.S. says", True),
    ("lowercase or is a word", "war or peace", "war and peace", False),
    ("emoji ignored", "🚀 SpaceX", "SpaceX launch", True),
]


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [case[1:] for case in MATCH_CASES],
    ids=[case[0] for case in MATCH_CASES],
)
def test_matching(query: str, text: str, expected: bool) -> None:
    assert matches_text(parse_query(query), text) is expected


NORMALISE_CASES = [
    ("case", "Ukraine", "ukraine"),
    ("spaces", "  Putin    Xi ", "putin xi"),
    ("order of words", "Xi Putin", "putin xi"),
    ("duplicate word", "Putin Putin", "putin"),
    ("or order", "Kyiv OR Kiev", "kiev OR kyiv"),
    ("phrase", '"Joe  BIDEN"', '"joe biden"'),
    ("quoted single word stays exact", '"Ukraine"', '"ukraine"'),
    ("exclusion last", "-football NATO", "nato -football"),
    ("prefix", "UKRAIN*", "ukrain*"),
]


@pytest.mark.parametrize(
    ("query", "normalised"),
    [case[1:] for case in NORMALISE_CASES],
    ids=[case[0] for case in NORMALISE_CASES],
)
def test_normalised_form(query: str, normalised: str) -> None:
    parsed = parse_query(query)
    assert parsed.normalised == normalised
    assert parse_query(parsed.normalised).normalised == normalised


def test_display_keeps_what_the_user_typed() -> None:
    assert parse_query('  "Joe Biden"   -Football ').display == '"Joe Biden" -Football'


INVALID_CASES = [
    ("empty", "", "empty"),
    ("blank", "   ", "empty"),
    ("only exclusions", "-football -cricket", "only excludes"),
    ("unbalanced quote", '"Joe Biden', "quote"),
    ("punctuation only", "!!! ???", "no letters"),
    ("or at start", "OR Kiev", "OR"),
    ("or at end", "Kyiv OR", "OR"),
    ("double or", "Kyiv OR OR Kiev", "OR"),
    ("or with exclusion", "Kyiv OR -Kiev", "OR"),
    ("star inside word", "Ukr*ine", r"\*"),
    ("star in phrase", '"Joe Bid*"', r"\*"),
    ("prefix too short", "a*", "too short"),
    ("required and excluded", "Putin -putin", "both"),
]


@pytest.mark.parametrize(
    ("query", "reason"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_queries_explain_why(query: str, reason: str) -> None:
    with pytest.raises(QueryError, match=reason):
        parse_query(query)


def test_length_limit_boundary() -> None:
    at_limit = "a" * MAX_QUERY_LENGTH
    assert parse_query(at_limit).normalised == at_limit
    with pytest.raises(QueryError, match=f"{MAX_QUERY_LENGTH + 1} characters"):
        parse_query(at_limit + "a")


def test_term_limit_boundary() -> None:
    words = [f"w{number}" for number in range(MAX_QUERY_TERMS + 1)]
    assert len(parse_query(" ".join(words[:MAX_QUERY_TERMS])).terms) == MAX_QUERY_TERMS
    with pytest.raises(QueryError, match=f"{MAX_QUERY_TERMS + 1} terms"):
        parse_query(" ".join(words))


def test_exclusions_count_towards_term_limit() -> None:
    words = ["nato"] + [f"-w{number}" for number in range(MAX_QUERY_TERMS)]
    with pytest.raises(QueryError, match="terms"):
        parse_query(" ".join(words))


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Ukraine, NATO", ["Ukraine", "NATO"]),
        ('"Paris, Texas", Kyiv', ['"Paris, Texas"', "Kyiv"]),
        (" , Ukraine,, ", ["Ukraine"]),
        ("", []),
    ],
    ids=["two", "comma in quotes", "empty parts", "nothing"],
)
def test_split_queries(text: str, parts: list[str]) -> None:
    assert split_queries(text) == parts


@given(st.text(max_size=150))
def test_any_text_parses_or_raises_query_error(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as error:
        assert str(error)
        return
    assert query.groups
    assert parse_query(query.normalised).normalised == query.normalised


@given(st.text(max_size=150), st.text(max_size=150), st.text(max_size=150), st.data())
def test_matching_never_raises_and_agrees_with_the_index(
    query_text: str, before: str, after: str, data: st.DataObject
) -> None:
    try:
        query = parse_query(query_text)
    except QueryError:
        return
    # The query's own words in the story, as written, shuffled or left out: matches and
    # near misses (a phrase out of order) both occur.
    words = tokenize(query_text)
    middle = data.draw(
        st.sampled_from(["", query_text])
        | st.permutations(words).map(" ".join)
        | st.lists(st.sampled_from(words or [""]), max_size=8).map(" ".join)
    )
    story = f"{before} {middle} {after}"
    index = SubscriptionIndex()
    index.add(1, query.normalised, query_text)
    assert matches_text(query, story) is (1 in index.match(analyze(story)))
