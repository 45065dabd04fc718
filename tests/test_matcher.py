"""Tests of the subscription index: same answers as the pure matcher, without a user loop."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.index import SubscriptionIndex
from bot.matching.match import query_matches
from bot.matching.query import QueryError, parse_query
from bot.text.analyzer import analyze

VOCABULARY = ["nato", "ukraine", "sanction", "tax", "kyiv", "kiev", "joe", "biden", "putin", "xi"]
STORY_WORDS = [*VOCABULARY, "sanctions", "taxes", "ukrainian", "nat", "joes", "bidenes", "the"]


def _index(subscriptions: list[tuple[int, str]]) -> SubscriptionIndex:
    index = SubscriptionIndex()
    for user_id, text in subscriptions:
        query = parse_query(text)
        index.add(user_id, query.normalised, query.display)
    return index


def test_match_returns_each_user_with_their_matching_subscriptions() -> None:
    index = _index([(1, "Ukraine"), (1, "NATO"), (2, '"Joe Biden"'), (3, "Ukrain* -football")])
    words = analyze("NATO and Ukraine: Joe Biden speaks")
    assert index.match(words) == {
        1: ("NATO", "Ukraine"),
        2: ('"Joe Biden"',),
        3: ("Ukrain* -football",),
    }


def test_exclusion_and_and_are_respected() -> None:
    index = _index([(1, "NATO -football"), (2, "Putin Xi"), (3, "Kyiv OR Kiev")])
    assert index.match(analyze("NATO football final, Putin alone")) == {}
    assert index.match(analyze("Xi and Putin in Kiev")) == {2: ("Putin Xi",), 3: ("Kyiv OR Kiev",)}


def test_removing_subscriptions_forgets_them() -> None:
    index = _index([(1, "Ukraine"), (2, "Ukraine"), (2, "Ukrain*")])
    index.remove(1, "ukraine")
    assert index.match(analyze("Ukraine")) == {2: ("Ukrain*", "Ukraine")}
    index.remove_chat(2, ["ukraine", "ukrain*"])
    assert index.match(analyze("Ukraine")) == {}
    assert len(index) == 0
    assert index.distinct_queries == 0


def test_shared_query_counts_once_per_user() -> None:
    index = _index([(1, "ukraine"), (2, "UKRAINE")])
    assert len(index) == 2
    assert index.distinct_queries == 1
    assert index.match(analyze("ukraine")) == {1: ("ukraine",), 2: ("UKRAINE",)}


def test_unknown_removal_is_ignored() -> None:
    index = _index([(1, "Ukraine")])
    index.remove(5, "ukraine")
    index.remove(1, "never")
    assert index.match(analyze("Ukraine")) == {1: ("Ukraine",)}


_term = st.one_of(
    st.sampled_from(VOCABULARY),
    st.builds(lambda w, n: w[: max(2, n)] + "*", st.sampled_from(VOCABULARY), st.integers(2, 6)),
    st.builds(
        lambda ws: '"' + " ".join(ws) + '"',
        st.lists(st.sampled_from(VOCABULARY), min_size=2, max_size=3),
    ),
)
_clause = st.one_of(
    _term,
    st.builds(lambda a, b: f"{a} OR {b}", _term, _term),
    st.builds(lambda t: f"-{t}", _term),
)
_query_text = st.lists(_clause, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.integers(1, 6), _query_text), min_size=1, max_size=12),
    st.lists(st.sampled_from(STORY_WORDS), max_size=30),
)
def test_index_agrees_with_pure_matcher(
    subscriptions: list[tuple[int, str]], story_words: list[str]
) -> None:
    queries = []
    for user_id, text in subscriptions:
        try:
            queries.append((user_id, parse_query(text)))
        except QueryError:
            continue
    index = SubscriptionIndex()
    for user_id, query in queries:
        index.add(user_id, query.normalised, query.display)
    expected: dict[int, set[str]] = {}
    subscribed: dict[tuple[int, str], str] = {}
    for user_id, query in queries:
        subscribed[(user_id, query.normalised)] = query.display
    for (user_id, normalised), display in subscribed.items():
        if query_matches(parse_query(normalised), story_words):
            expected.setdefault(user_id, set()).add(display)
    got = {user: set(displays) for user, displays in index.match(story_words).items()}
    assert got == expected
