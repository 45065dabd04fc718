"""One Analyzer turns both stories and queries into index words."""

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.poller import prepare_feed
from bot.matching.index import SubscriptionIndex
from bot.matching.query import matches_text, parse_query
from bot.text import analyzer
from bot.text.analyzer import ANALYZER, Analyzer, analyze
from bot.text.normalize import tokenize

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News</title><link>https://news.example/</link>
<item><title>Shelling near Kiev</title><guid>g1</guid>
<description>Air defence was active overnight.</description></item>
</channel></rss>"""


@given(st.text(max_size=200), st.sampled_from([None, "en", "uk", "ru"]))
def test_index_words_are_folded_tokens_whatever_the_language(
    text: str, language: str | None
) -> None:
    assert analyze(text, language) == ANALYZER.analyze(text, language) == tokenize(text)


@dataclass(frozen=True)
class _OneSpelling(Analyzer):
    """An analyzer that reads Kiev as Kyiv, as a morphology would map word forms."""

    def analyze(self, text: str, language: str | None = None) -> list[str]:
        return ["kyiv" if word == "kiev" else word for word in super().analyze(text, language)]


def test_stories_and_queries_go_through_the_same_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer, "ANALYZER", _OneSpelling())
    query = parse_query("Kyiv")
    assert parse_query("Kiev").normalised == query.normalised
    assert matches_text(query, "Shelling near Kiev")
    prepared = prepare_feed(1, RSS, {"content-type": "application/rss+xml"}, "https://x/", 0.0)
    words = prepared.stories[0].words
    assert "kyiv" in words
    assert "kiev" not in words
    index = SubscriptionIndex()
    index.add(7, query.normalised, "Kyiv")
    assert index.match(words) == {7: ("Kyiv",)}
