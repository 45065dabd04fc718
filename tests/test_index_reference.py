"""The index's match_queries against a brute-force reference, on random stories and queries.

The reference reads the compiled patterns directly (every start position, every slot, the
plural, case and language rules) and knows nothing of the index's dictionaries, memo or
pairs: the index may find terms any way it likes, but must find exactly these. Stories are
analysed texts (uk/ru lemma keys, case, language) and hand-made ones whose lemma keys and
cases fall anywhere; subscriptions come and go between matches, so what the index keeps up
to date (the word memo, the pairs of groups) is checked as well. Queries hold NEAR pairs
and source: filters; stories come from outlets (or none known).
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.expand import compiled
from bot.matching.index import SubscriptionIndex
from bot.matching.patterns import PLURAL_SUFFIXES, Slot
from bot.matching.query import NearTerm, QueryError, Term, parse_query
from bot.matching.sources import StorySource
from bot.text.analyzer import AnalyzedText, analyze

# Query words: plain words and their plurals, names with aliases and case rules (NATO, US,
# Trump), uk/ru words inflected or not, prefixes that reach plurals and Cyrillic forms.
QUERY_WORDS = [
    "ukraine", "sanction", "tax", "nato", "us", "trump", "putin", "kyiv", "germany",
    "україна", "України", "Украина", "київ", "Путін", "НАТО", "states", "york", "new",
]  # fmt: skip
PREFIXES = ["ukrain*", "sanc*", "укра*", "ки*", "ta*", "new*", "нат*"]
PHRASES = ['"united states"', '"new york"', '"sanctions tax"', '"київ україна"', '"new new"']
# Story words as written: plurals, capitals, aliases in other languages, inflected forms.
STORY_WORDS = [
    "Ukraine", "ukraine", "Ukraines", "sanction", "sanctions", "Sanctions", "taxes", "tax",
    "NATO", "Nato", "nato", "US", "us", "Us", "Trump", "trump", "Putin", "Putins", "Kyiv",
    "Kyivs", "Germany", "Deutschland", "deutschland", "Ucraina", "United", "united", "States",
    "states", "New", "new", "York", "newyork", "Україна", "України", "україною", "Украины",
    "Украина", "Київ", "Києві", "київ", "НАТО", "Нато", "Путіна", "путина", "Німеччини",
    "Росії", "США", "the", "s", "es", "tax", "ta",
]  # fmt: skip
PHRASE_WORDS = ["Києві", "України", "Київ", "Україна", "New", "Yorks", "united", "States", "tax"]
LANGUAGES = [None, "en", "uk", "ru", "it", "de", "fr"]
LEMMA_KEYS = ["uk:україна", "ru:украина", "uk:київ", "uk:путін", "ru:нато", "uk:ukraine"]

_term = st.one_of(
    st.sampled_from(QUERY_WORDS),
    st.sampled_from(QUERY_WORDS).map(lambda word: f'"{word}"'),
    st.sampled_from(PREFIXES),
    st.sampled_from(PHRASES),
)
_near = st.builds(lambda a, n, b: f"{a} NEAR/{n} {b}", _term, st.integers(1, 4), _term)
SOURCE_NAMES = ["bbc", "BBC.co.uk", "rt", "news", "kyiv", '"kyiv independent"']
_source = st.sampled_from(SOURCE_NAMES).map(lambda name: f"source:{name}")
_clause = st.one_of(
    _term,
    _term,
    _near,
    st.builds(lambda a, b: f"{a} OR {b}", _term, st.one_of(_term, _near)),
    st.builds(lambda t: f"-{t}", _term),
    _source,
    _source.map(lambda source: f"-{source}"),
)
_query_texts = st.lists(st.lists(_clause, min_size=1, max_size=4).map(" ".join), max_size=10)


@st.composite
def _analysed(draw: st.DrawFn) -> AnalyzedText:
    words = draw(st.lists(st.sampled_from(STORY_WORDS), max_size=25))
    return analyze(" ".join(words), draw(st.sampled_from(LANGUAGES)))


@st.composite
def _phrase_heavy(draw: st.DrawFn) -> AnalyzedText:
    """A story of few words, so that the phrases' words (inflected, plural) stand side by side."""
    words = draw(st.lists(st.sampled_from(PHRASE_WORDS), max_size=8))
    return analyze(" ".join(words), draw(st.sampled_from(LANGUAGES)))


@st.composite
def _hand_made(draw: st.DrawFn) -> AnalyzedText:
    """A story whose lemma keys and cases fall anywhere, as no analyser would write them."""
    written = draw(st.lists(st.sampled_from(STORY_WORDS), max_size=20))
    words = tuple(analyze(word).words[0] for word in written)
    extra = draw(
        st.lists(st.tuples(st.integers(0, max(len(words) - 1, 0)), st.sampled_from(LEMMA_KEYS)))
        if words
        else st.just([])
    )
    cases = draw(st.one_of(st.just(b""), st.binary(min_size=len(words), max_size=len(words))))
    return AnalyzedText(
        words, tuple(extra), bytes(c % 3 for c in cases), draw(st.sampled_from(LANGUAGES))
    )


_story = st.one_of(
    _analysed(),
    _phrase_heavy(),
    _hand_made(),
    st.lists(st.sampled_from(QUERY_WORDS), max_size=8),
)
OUTLETS = [
    None,
    StorySource.of_feed("BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml"),
    StorySource.of_feed("BBC Україна", "https://www.bbc.co.uk/ukrainian/index.xml"),
    StorySource.of_feed("RT", "https://www.rt.com/rss/news/"),
    StorySource.of_feed("The Kyiv Independent", "https://kyivindependent.com/feed/"),
    StorySource.of_feed("", "not a url"),
]
_outlet = st.sampled_from(OUTLETS)


def _fits(slot: Slot, story: AnalyzedText, position: int) -> bool:
    if position >= len(story.words) or story.case_at(position) < slot.case:
        return False
    word = story.words[position]
    if word in slot.keys or any(at == position and key in slot.keys for at, key in story.extra):
        return True
    return slot.plural and any(
        word.endswith(suffix) and len(word) > len(suffix) and word[: -len(suffix)] in slot.keys
        for suffix in PLURAL_SUFFIXES
    )


def _spans(term: Term, story: AnalyzedText) -> set[tuple[int, int]]:
    found = compiled(term)
    if found.prefix is not None:
        return {(at, at) for at, word in enumerate(story.words) if word.startswith(found.prefix)}
    return {
        (start, start + len(pattern.slots) - 1)
        for pattern in found.patterns
        for start in range(len(story.words))
        if (pattern.languages is None or story.language in (None, *pattern.languages))
        and all(_fits(slot, story, start + k) for k, slot in enumerate(pattern.slots))
    }


def _holds(term: Term, story: AnalyzedText) -> bool:
    if not isinstance(term, NearTerm):
        return bool(_spans(term, story))
    first, second = (_spans(part, story) for part in term.pair)
    # Word positions a and b of the two terms, at most the distance apart.
    return any(
        abs(a - b) <= term.distance or (a_start <= b_end and b_start <= a_end)
        for a_start, a_end in first
        for b_start, b_end in second
        for a in (a_start, a_end)
        for b in (b_start, b_end)
    )


def _named(name: str, outlet: StorySource) -> bool:
    return name in outlet.title or name in outlet.host


def _outlet_passes(sources: tuple[str, ...], excluded: tuple[str, ...], outlet: object) -> bool:
    if not isinstance(outlet, StorySource):
        return not sources
    if any(_named(name, outlet) for name in excluded):
        return False
    return not sources or any(_named(name, outlet) for name in sources)


def _reference(
    normalised_queries: set[str], story: AnalyzedText, outlet: StorySource | None = None
) -> list[str]:
    matched = []
    for normalised in normalised_queries:
        query = parse_query(normalised)
        if (
            _outlet_passes(query.sources, query.excluded_sources, outlet)
            and all(any(_holds(t, story) for t in group) for group in query.groups)
            and not any(_holds(t, story) for t in query.excluded)
        ):
            matched.append(normalised)
    return sorted(matched)


def _valid(texts: list[str]) -> list[tuple[str, str]]:
    queries = []
    for text in texts:
        try:
            query = parse_query(text)
        except QueryError:
            continue
        queries.append((query.normalised, query.display))
    return queries


def _as_text(story: AnalyzedText | list[str]) -> AnalyzedText:
    return story if isinstance(story, AnalyzedText) else AnalyzedText(tuple(story))


@settings(max_examples=400)
@given(
    _query_texts,
    _query_texts,
    st.lists(st.tuples(_story, _outlet), min_size=1, max_size=3),
    st.data(),
)
def test_match_queries_equals_the_reference_as_subscriptions_come_and_go(
    first: list[str],
    then: list[str],
    stories: list[tuple[AnalyzedText | list[str], StorySource | None]],
    data: st.DataObject,
) -> None:
    index = SubscriptionIndex()
    subscribed: dict[tuple[int, str], str] = {}

    def check() -> None:
        normalised = {query for _, query in subscribed}
        for story, outlet in stories:
            expected = _reference(normalised, _as_text(story), outlet)
            assert index.match_queries(story, outlet) == expected

    for chat, (normalised, display) in enumerate(_valid(first)):
        index.add(chat % 3, normalised, display)
        subscribed[(chat % 3, normalised)] = display
    check()  # and remember each story word's terms
    for chat, (normalised, display) in enumerate(_valid(then)):
        index.add(chat % 4, normalised, display)
        subscribed[(chat % 4, normalised)] = display
    check()
    for chat, normalised in data.draw(st.lists(st.sampled_from(sorted(subscribed) or [(0, "")]))):
        index.remove(chat, normalised)
        subscribed.pop((chat, normalised), None)
    check()
    assert len(index) == len(subscribed)


@settings(max_examples=200)
@given(_query_texts, _story, _outlet)
def test_match_fans_match_queries_out_to_the_subscribers(
    texts: list[str], story: AnalyzedText | list[str], outlet: StorySource | None
) -> None:
    index = SubscriptionIndex()
    subscribed: dict[tuple[int, str], str] = {}
    for chat, (normalised, display) in enumerate(_valid(texts)):
        index.add(chat % 4, normalised, display)
        subscribed[(chat % 4, normalised)] = display  # a chat's later display replaces one
    queries = {normalised for _, normalised in subscribed}
    matched = set(_reference(queries, _as_text(story), outlet))
    expected: dict[int, set[str]] = {}
    for (chat, normalised), display in subscribed.items():
        if normalised in matched:
            expected.setdefault(chat, set()).add(display)
    got = index.match(story, outlet)
    assert {chat: set(displays) for chat, displays in got.items()} == expected
    assert all(list(displays) == sorted(displays) for displays in got.values())
