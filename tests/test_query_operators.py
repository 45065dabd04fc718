"""Tests of NEAR/n and source: filters: parsing, the one-query matcher and the index."""

import pytest

from bot.i18n import use_locale
from bot.matching.index import SubscriptionIndex
from bot.matching.match import matches_text
from bot.matching.query import MAX_NEAR_DISTANCE, NearTerm, QueryError, TermKind, parse_query
from bot.matching.sources import StorySource
from bot.text.analyzer import analyze

BBC = StorySource.of_feed("BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml")
BBC_UK = StorySource.of_feed("BBC Україна", "https://www.bbc.co.uk/ukrainian/index.xml")
RT = StorySource.of_feed("RT - Daily news", "https://www.rt.com/rss/news/")
KYIV_POST = StorySource.of_feed("Kyiv Post", "https://www.kyivpost.com/feed")
CAFE = StorySource.of_feed("Le Café Économique", "https://CAFE.example/rss")

NORMALISED = [
    ("Putin NEAR/5 Trump", "putin NEAR/5 trump"),
    ("Trump near/5 Putin", "putin NEAR/5 trump"),  # either order, either case: one query
    ('"New York" NEAR/3 mayor', '"new york" NEAR/3 mayor'),
    ("Ukrain* NEAR/2 army", "army NEAR/2 ukrain*"),
    ("Kyiv OR Putin NEAR/2 Trump", "kyiv OR putin NEAR/2 trump"),
    ("Putin NEAR/2 Trump -golf", "putin NEAR/2 trump -golf"),
    ("source:BBC Ukraine", "ukraine source:bbc"),
    ("Ukraine -source:RT", "ukraine -source:rt"),
    ('source:"Kyiv  Post" war', 'war source:"kyiv post"'),
    ("source:bbc.co.uk", "source:bbc.co.uk"),
    ("source:rt source:bbc -sport", "source:bbc source:rt -sport"),
]


@pytest.mark.parametrize(("query", "normalised"), NORMALISED)
def test_normalised_form_parses_back_to_itself(query: str, normalised: str) -> None:
    assert parse_query(query).normalised == normalised
    assert parse_query(normalised).normalised == normalised


def test_a_near_term_holds_its_two_terms_and_their_words() -> None:
    (group,) = parse_query('"New York" NEAR/3 mayor').groups
    (term,) = group
    assert term.kind is TermKind.NEAR
    assert isinstance(term, NearTerm)
    assert [part.canonical for part in term.near] == ['"new york"', "mayor"]
    assert term.distance == 3
    assert term.words == ("new", "york", "mayor")


INVALID = [
    ("a NEAR/3 b NEAR/3 c", "a chain like a NEAR/3 b NEAR/3 c is not supported"),
    ("NEAR/3 Trump", "NEAR/3 must stand between two words"),
    ("Putin NEAR/3", "NEAR/3 must stand between two words"),
    ("Putin OR NEAR/3 Trump", "NEAR/3 must stand between two words"),
    ("Putin NEAR/0 Trump", "'NEAR/0': write NEAR/ and a number of words from 1 to 20"),
    (f"Putin NEAR/{MAX_NEAR_DISTANCE + 1} Trump", "from 1 to 20"),
    ("Putin NEAR/x Trump", "'NEAR/x': write NEAR/"),
    ("Putin NEAR/ Trump", "'NEAR/': write NEAR/"),
    ("Putin NEAR/٣ Trump", "write NEAR/"),  # an Arabic-Indic digit is not a distance
    ("-Putin NEAR/3 Trump", "a NEAR pair cannot be excluded with -"),
    ("Putin -NEAR/3 Trump", "a NEAR pair cannot be excluded with -"),
    ("Putin NEAR/3 Putin", "NEAR needs two different terms"),
    ("Putin NEAR/3 source:bbc", "NEAR/3 must stand between two words"),
    ("source: Ukraine", "'source:': say which outlet after source:, like source:bbc"),
    ("source:b Ukraine", "'source:b': say which outlet"),
    ('source:"" Ukraine', "say which outlet"),
    ('source:"bbc Ukraine', "a quote is not closed"),
    ("-source:rt", "it only excludes words; say what stories you want too"),
    ("-source:rt -sport", "it only excludes words"),
    ("source:bbc -source:BBC", "it both requires and excludes source:bbc"),
    ("source:bbc OR source:rt", "OR joins words; several source: filters already mean any"),
    ("Kyiv OR source:rt", "OR joins words; several source: filters"),
    ("a b c d e f g h i j NEAR/2 k", "it has 11 terms; the limit is 10"),
    ("a b c d e f g h i source:bbc source:rt", "it has 11 terms; the limit is 10"),
]


@pytest.mark.parametrize(("query", "reason"), INVALID)
def test_invalid_forms_explain_why(query: str, reason: str) -> None:
    with use_locale("en"), pytest.raises(QueryError) as raised:
        parse_query(query)
    with use_locale("en"):
        assert reason in str(raised.value)


def test_the_reasons_are_read_in_the_chats_language() -> None:
    with pytest.raises(QueryError) as raised:
        parse_query("a NEAR/3 b NEAR/3 c")
    with use_locale("uk"):
        assert str(raised.value).startswith("NEAR з’єднує лише два слова")
    with use_locale("ru"):
        assert str(raised.value).startswith("NEAR соединяет только два слова")


NEAR_CASES = [
    ("side by side", "Putin NEAR/1 Trump", "Putin Trump summit", "en", True),
    ("other order", "Putin NEAR/1 Trump", "Trump, Putin meet", "en", True),
    ("within the distance", "Putin NEAR/4 Trump", "Putin will meet Donald Trump", "en", True),
    ("just beyond", "Putin NEAR/2 Trump", "Putin will meet Trump", "en", False),
    ("exactly the distance", "Putin NEAR/3 Trump", "Putin will meet Trump", "en", True),
    ("far apart", "Putin NEAR/5 Trump", "Putin " + "word " * 10 + "Trump", "en", False),
    ("one term missing", "Putin NEAR/5 Trump", "Putin speaks", "en", False),
    ("any pair of occurrences", "Putin NEAR/1 Trump", "Trump a b c Putin Trump", "en", True),
    ("plural", "sanction NEAR/2 tax", "taxes and sanctions", "en", True),
    ("uk inflections", "Путін NEAR/2 Трамп", "Трампа і Путіна зустріч", "uk", True),
    ("ru alias of the query", "Putin NEAR/3 Trump", "Путин встретился с Трампом", "ru", True),
    ("uk lemma, other order", "Україна NEAR/3 НАТО", "НАТО підтримує Україну", "uk", True),
    ("phrase term", '"New York" NEAR/2 mayor', "the mayor of New York", "en", True),
    ("phrase term too far", '"New York" NEAR/1 mayor', "the mayor of New York", "en", False),
    ("prefix term", "Ukrain* NEAR/1 army", "the Ukrainian army", "en", True),
    ("quoted word only itself", '"sanction" NEAR/1 tax', "sanctions tax", "en", False),
    ("overlapping terms", '"New York" NEAR/1 york', "New York", "en", True),
    ("with an exclusion", "Putin NEAR/2 Trump -golf", "Putin and Trump play golf", "en", False),
    ("in an OR group", "Kyiv OR Putin NEAR/2 Trump", "Trump and Putin", "en", True),
]


@pytest.mark.parametrize(
    ("query", "text", "language", "expected"),
    [case[1:] for case in NEAR_CASES],
    ids=[case[0] for case in NEAR_CASES],
)
def test_near(query: str, text: str, language: str, expected: bool) -> None:
    parsed = parse_query(query)
    assert matches_text(parsed, text, language) is expected
    index = SubscriptionIndex()
    index.add(1, parsed.normalised, parsed.display)
    assert bool(index.match_queries(analyze(text, language))) is expected


SOURCE_CASES = [
    ("by title", "source:bbc Ukraine", BBC, True),
    ("by host", "source:bbci Ukraine", BBC, True),
    ("by host with dots", "source:bbc.co.uk Ukraine", BBC_UK, True),
    ("a dotted name is the host as written", "source:bbc.co.uk Ukraine", BBC, False),
    ("case-insensitive", "source:BBC Ukraine", BBC_UK, True),
    ("folded like words", "source:CAFÉ Ukraine", CAFE, True),
    ("quoted name", 'source:"kyiv post" Ukraine', KYIV_POST, True),
    ("another outlet", "source:bbc Ukraine", RT, False),
    ("words still decide", "source:bbc Ukraine", BBC, True),
    ("any of several", "source:rt source:kyivpost Ukraine", KYIV_POST, True),
    ("none of several", "source:rt source:kyivpost Ukraine", BBC, False),
    ("negated drops", "Ukraine -source:rt", RT, False),
    ("negated keeps others", "Ukraine -source:rt", BBC, True),
    ("negated by host", "Ukraine -source:rt.com", RT, False),
    ("unknown outlet, required", "source:bbc Ukraine", None, False),
    ("unknown outlet, excluded", "Ukraine -source:rt", None, True),
    ("outlet alone", "source:bbc", BBC, True),
    ("outlet alone, another", "source:bbc", RT, False),
    ("outlet alone, minus a word", "source:bbc -football", BBC, True),
]


@pytest.mark.parametrize(
    ("query", "source", "expected"),
    [case[1:] for case in SOURCE_CASES],
    ids=[case[0] for case in SOURCE_CASES],
)
def test_source(query: str, source: StorySource | None, expected: bool) -> None:
    text = "Ukraine: the week in review"
    parsed = parse_query(query)
    assert matches_text(parsed, text, "en", source) is expected
    index = SubscriptionIndex()
    index.add(1, parsed.normalised, parsed.display)
    assert bool(index.match_queries(analyze(text, "en"), source)) is expected


def test_source_only_queries_follow_subscriptions_as_they_come_and_go() -> None:
    index = SubscriptionIndex()
    story = analyze("Football: a late goal", "en")
    index.add(1, "source:bbc", "source:BBC")
    assert index.match(story, BBC) == {1: ("source:BBC",)}
    index.add(2, "source:bbc -football", "source:bbc -football")
    index.add(3, "source:rt", "source:rt")
    assert index.match(story, BBC) == {1: ("source:BBC",)}
    assert index.match(story, RT) == {3: ("source:rt",)}
    index.remove(1, "source:bbc")
    assert index.match(story, BBC) == {}
    assert index.match(analyze("Elections", "en"), BBC) == {2: ("source:bbc -football",)}


def test_outlets_are_named_by_folded_title_and_host() -> None:
    outlet = StorySource.of_feed("  Le  CAFÉ ", "https://News.Example.COM:8443/rss")
    assert outlet == StorySource("le café", "news.example.com")
    assert StorySource.of_feed("x", "http://[::1") == StorySource("x", "")
