"""Match one query against one story: for `newshound check`, dry runs and tests.

The subscription index (index.py) answers the same question for every subscription at
once; both decide through bot.matching.patterns and bot.matching.sources, so they agree.
"""

from collections.abc import Sequence

from bot.matching.expand import compiled
from bot.matching.patterns import StoryView, term_occurs
from bot.matching.query import Query
from bot.matching.sources import StorySource, admits
from bot.text.analyzer import AnalyzedText, analyze, plain


def as_analyzed(story: AnalyzedText | Sequence[str]) -> AnalyzedText:
    """Return a story's analysis; plain folded words are taken as they are."""
    return story if isinstance(story, AnalyzedText) else plain(list(story))


def query_matches(
    query: Query, story: AnalyzedText | Sequence[str], source: StorySource | None = None
) -> bool:
    """Tell whether a story (from this outlet) matches: every group, none of the exclusions.

    A query of source filters alone matches every story of the outlets it names.
    """
    if not admits(query.sources, query.excluded_sources, source):
        return False
    view = StoryView(as_analyzed(story))
    if any(term_occurs(compiled(term), view) for term in query.excluded):
        return False
    return all(any(term_occurs(compiled(term), view) for term in group) for group in query.groups)


def matches_text(
    query: Query, text: str, language: str | None = None, source: StorySource | None = None
) -> bool:
    """Tell whether a story's text (in the feed's declared language, if known) matches."""
    return query_matches(query, analyze(text, language), source)
