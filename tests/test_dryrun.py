"""The dry run's pure parts: packed analyses, and a prefilter that never loses a match."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.dryrun import AllOf, Ask, Expression, Token, search, story_tokens
from bot.matching.match import query_matches
from bot.matching.query import QueryError, parse_query
from bot.text.analyzer import CAPITALISED, LOWER, UPPER, AnalyzedText, analyze
from bot.text.packed import PackedTextError, pack, unpack
from tests.test_index_reference import LEMMA_KEYS, STORY_WORDS, _analysed, _query_texts


def holds(expression: Expression, tokens: set[str]) -> bool:
    """The index's answer: whether a story with these tokens holds the expression."""
    if isinstance(expression, Token):
        if expression.prefix:
            return any(token.startswith(expression.text) for token in tokens)
        return expression.text in tokens
    if isinstance(expression, AllOf):
        return all(holds(part, tokens) for part in expression.parts)
    return any(holds(part, tokens) for part in expression.parts)


def found(asked: Ask | None, text: AnalyzedText) -> bool:
    """Whether the index gives the story for what is asked (None: nothing)."""
    if asked is None:
        return False
    tokens = set(story_tokens(text))
    wanted = asked.wanted is None or holds(asked.wanted, tokens)
    return wanted and not (asked.unwanted is not None and holds(asked.unwanted, tokens))


@st.composite
def _hand_made(draw: st.DrawFn) -> AnalyzedText:
    words = draw(st.lists(st.sampled_from(STORY_WORDS).map(str.casefold), max_size=20))
    extra = draw(
        st.lists(
            st.tuples(st.integers(0, max(len(words) - 1, 0)), st.sampled_from(LEMMA_KEYS)),
            max_size=6,
        )
    )
    cases = bytes(
        draw(
            st.lists(
                st.sampled_from([LOWER, CAPITALISED, UPPER]),
                min_size=len(words),
                max_size=len(words),
            )
        )
    )
    language = draw(st.sampled_from([None, "uk", "ru", "en"]))
    return AnalyzedText(tuple(words), tuple(extra), cases, language)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_analysed(), _hand_made()))
def test_a_packed_analysis_comes_back_the_same(text: AnalyzedText) -> None:
    assert unpack(pack(text)) == text


@pytest.mark.parametrize("junk", [b"", b"not zlib", pack(analyze("x"))[:-3]])
def test_unpack_refuses_what_is_not_a_packed_analysis(junk: bytes) -> None:
    with pytest.raises(PackedTextError):
        unpack(junk)


@settings(max_examples=800, deadline=None)
@given(_query_texts, st.one_of(_analysed(), _hand_made()))
def test_the_index_finds_every_match_and_exactly_the_matches_when_exact(
    texts: list[str], story: AnalyzedText
) -> None:
    for text in texts:
        try:
            query = parse_query(text)
        except QueryError:
            continue
        asked = search(query)
        matches = query_matches(query, story)
        if matches:
            assert found(asked.candidates, story), (text, story)
        if found(asked.sure, story):
            assert matches, (text, story)
        if asked.exact:
            assert found(asked.sure, story) is matches, (text, story)


@pytest.mark.parametrize(
    ("query", "text", "result"),
    [
        pytest.param("Ukraine", "Talks on Ukraine", True, id="word"),
        pytest.param("Ukraine", "Talks on football", False, id="other-word"),
        pytest.param("Україна", "Переговори щодо України", True, id="inflected-uk"),
        pytest.param("Ukraine", "Переговори щодо України", True, id="alias-uk"),
        pytest.param("cyber*", "Cyberattacks rise", True, id="prefix"),
        pytest.param("Україна -football", "Україна football final", False, id="excluded"),
        pytest.param("Germany", "Deutschland wins", True, id="alias-de"),
    ],
)
def test_single_word_queries_are_answered_by_the_index_alone(
    query: str, text: str, result: bool
) -> None:
    asked = search(parse_query(query))
    assert asked.exact
    assert found(asked.sure, analyze(text)) is result


@pytest.mark.parametrize(
    ("query", "text", "sure", "candidate"),
    [
        # NATO also matches "Північноатлантичний альянс": only its single-word names are
        # sure; stories with both words of that one somewhere are matched one by one.
        pytest.param("NATO", "NATO summit", True, True, id="sure"),
        pytest.param("NATO", "Альянс: Північноатлантичний договір", False, True, id="phrase-words"),
        pytest.param("NATO", "Talks in Geneva", False, False, id="neither"),
        # The name counts only written as a name: "us" the pronoun is no candidate.
        pytest.param("US", "Talks with us", False, False, id="case-rule"),
        pytest.param("US", "Talks with the US", True, True, id="case-rule-met"),
    ],
)
def test_names_with_several_word_aliases_are_sure_on_their_single_words(
    query: str, text: str, sure: bool, candidate: bool
) -> None:
    asked = search(parse_query(query))
    assert not asked.exact
    assert found(asked.sure, analyze(text)) is sure
    assert found(asked.candidates, analyze(text)) is candidate


@pytest.mark.parametrize(
    ("query", "text", "candidate"),
    [
        # Every word of the phrase, anywhere: a candidate, matched again one by one.
        pytest.param('"Joe Biden"', "Biden met Joe", True, id="phrase-words-apart"),
        pytest.param('"Joe Biden"', "Joe met Xi", False, id="phrase-word-missing"),
        pytest.param('NATO -"Joe Biden"', "NATO: Biden met Joe", True, id="excluded-phrase"),
    ],
)
def test_phrases_give_candidates_holding_every_word(query: str, text: str, candidate: bool) -> None:
    asked = search(parse_query(query))
    assert not asked.exact
    assert found(asked.candidates, analyze(text)) is candidate
    assert not found(asked.sure, analyze(text))


@pytest.mark.parametrize(
    ("query", "text", "candidate"),
    [
        pytest.param("Putin NEAR/2 Trump", "Putin met Trump", True, id="near"),
        pytest.param("Putin NEAR/2 Trump", "Trump, far, far from Putin", True, id="near-far"),
        pytest.param("Putin NEAR/2 Trump", "Putin alone", False, id="near-one-term"),
        pytest.param("Україна NEAR/2 НАТО", "НАТО і Україна", True, id="near-uk"),
    ],
)
def test_near_gives_candidates_holding_both_terms(query: str, text: str, candidate: bool) -> None:
    asked = search(parse_query(query))
    assert not asked.exact and asked.sure is None
    assert found(asked.candidates, analyze(text, "uk" if "НАТО" in text else "en")) is candidate


def test_source_filters_are_never_sure_by_the_index() -> None:
    for text in ("source:bbc", "Ukraine source:bbc", "Ukraine -source:rt"):
        asked = search(parse_query(text))
        assert asked.sure is None and not asked.exact
