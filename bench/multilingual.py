"""Scenario 8: Ukrainian/Russian morphology and aliases across languages (issue 11), measured.

1. Recall and false matches on the real corpus. Every feed of the corpus goes through the
   bot's own path: prepare_feed in FeedParserPool workers, which decides each story's
   language from the feed (and the script) and indexes its words and lemma keys. Each of the
   nine queries of bench/oracle.py is parsed (parse_query) and matched (query_matches) against
   every story, and compared with the oracle: hand-written regular expressions for each
   entity's names in the eight alias languages, run on the same text the matcher analysed
   (the title and cleaned body, rebuilt here as prepare_feed builds them and checked to give
   the very words it indexed). Recall = stories matched and named / stories named; a false
   match is a story matched that does not name the entity. Without the corpus (a plain
   clone) these figures are reported as not measured.
2. and 3. The parse-cycle cost of morphology and the memory it takes:
   bench/morphology_cost.py.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import morphology_cost
from bench.common import Figure, Run, at_least, at_most, not_measured
from bench.oracle import QUERIES, names_in
from bot.ingest.parse import parse_feed
from bot.ingest.pool import DEFAULT_PARSER_WORKERS, FeedParserPool
from bot.ingest.prepare import PreparedFeed, matching_text, prepare_feed
from bot.ingest.stories import story_from_entry
from bot.matching.expand import compiled
from bot.matching.match import query_matches
from bot.matching.patterns import StoryView, pattern_at
from bot.matching.query import Query, parse_query
from bot.text.analyzer import AnalyzedText
from bot.text.language import MORPHOLOGY_LANGUAGES
from bot.text.normalize import html_to_paragraphs, split_words, tokenize

SCENARIO = "8 multilingual"
# Story languages as prepare_feed decides them; "undeclared": no language from the feed
# and not Cyrillic (mostly English feeds that declare none).
BUCKETS = ("en", "uk", "ru", "other", "undeclared")
CORPUS_URL = "https://corpus.example/"
TITLE_CHARACTERS = 70


@dataclass(frozen=True)
class CorpusStory:
    """One story of the corpus: where from, its title, the text analysed and the analysis."""

    feed: str
    title: str
    text: str
    analyzed: AnalyzedText

    @property
    def bucket(self) -> str:
        """Return the story's language bucket."""
        language = self.analyzed.language
        if language is None:
            return "undeclared"
        return language if language in BUCKETS else "other"

    def describe(self, words: Sequence[str]) -> str:
        """Return the story for a note: title, language, feed, the words in question."""
        title = self.title if len(self.title) <= TITLE_CHARACTERS else self.title[:69] + "…"
        return f"«{title}» ({self.bucket}, {self.feed}: {', '.join(words)})"


@dataclass
class QueryResult:
    """One query against every story: matched, named (oracle), both, per language bucket."""

    query: str
    entity: str
    matched: Counter[str] = field(default_factory=Counter)
    named: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    false: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Return stories matched and named / stories named (NaN if none is named)."""
        named = sum(self.named.values())
        return sum(self.found.values()) / named if named else float("nan")


def corpus_files(directory: Path, limit: int) -> list[Path]:
    """Return up to limit of the corpus's feed files, evenly spread; none in a plain clone."""
    files = sorted(directory.glob("*.xml")) if directory.is_dir() else []
    return files[:: max(1, math.ceil(len(files) / limit))]


def analysed_texts(body: bytes, url: str) -> dict[str, str]:
    """Return, by story key, each entry's text as prepare_feed analyses it."""
    texts: dict[str, str] = {}
    for entry in parse_feed(body, {}, url=url).entries:
        fullest = max(entry.bodies, key=len, default="")
        story = story_from_entry(0, entry.guid, entry.link, entry.title, entry.published, None)
        text = matching_text(story.title, " ".join(html_to_paragraphs(fullest)), entry.categories)
        texts.setdefault(story.key, text)
    return texts


async def read_corpus(files: Sequence[Path]) -> tuple[list[CorpusStory], dict[Path, str]]:
    """Prepare every feed in parser workers; return its stories and each feed's language."""
    parsers = FeedParserPool(DEFAULT_PARSER_WORKERS)
    now = time.time()
    try:
        prepared: list[PreparedFeed] = await asyncio.gather(
            *(
                parsers.run(
                    prepare_feed, number, path.read_bytes(), {}, CORPUS_URL + path.name, now
                )
                for number, path in enumerate(files)
            )
        )
    finally:
        parsers.close()
    stories: list[CorpusStory] = []
    languages: dict[Path, str] = {}
    for path, feed in zip(files, prepared, strict=True):
        texts = analysed_texts(path.read_bytes(), CORPUS_URL + path.name)
        for saved in feed.stories:
            text = texts[saved.story.key]
            if tuple(tokenize(text)) != saved.analyzed.words:
                raise RuntimeError(f"{path.name}: the oracle's text is not what was analysed")
            stories.append(CorpusStory(path.name, saved.story.title, text, saved.analyzed))
        counted = Counter(saved.analyzed.language or "" for saved in feed.stories)
        if counted:
            languages[path] = counted.most_common(1)[0][0]
    return stories, languages


def matched_words(query: Query, story: CorpusStory) -> list[str]:
    """Return the story's words (as written) where the query's patterns matched."""
    view = StoryView(story.analyzed)
    written = split_words(story.text)
    words = written if len(written) == len(story.analyzed.words) else story.analyzed.words
    found: set[str] = set()
    for term in (term for group in query.groups for term in group):
        for pattern in compiled(term).patterns:
            for start in set(view.starts(pattern.slots[0])):
                if pattern_at(pattern, view, (start,)):
                    found.add(" ".join(words[start : start + len(pattern.slots)]))
    return sorted(found)


def evaluate(stories: Sequence[CorpusStory]) -> list[QueryResult]:
    """Match every query against every story and compare with the oracle."""
    results: list[QueryResult] = []
    for text, entity in QUERIES:
        query = parse_query(text)
        result = QueryResult(text, entity)
        for story in stories:
            matched = query_matches(query, story.analyzed)
            named = names_in(entity, story.text)
            result.matched[story.bucket] += matched
            result.named[story.bucket] += bool(named)
            result.found[story.bucket] += matched and bool(named)
            if matched and not named:
                result.false.append(story.describe(matched_words(query, story)))
            elif named and not matched:
                result.missed.append(story.describe(sorted(set(named))))
        results.append(result)
    return results


def _per_bucket(counts: Counter[str]) -> str:
    return ", ".join(f"{bucket} {counts[bucket]}" for bucket in BUCKETS)


def query_figures(result: QueryResult) -> list[Figure]:
    """Return a query's recall and false-match figures, the details in their notes."""
    named = sum(result.named.values())
    counts = (
        f"named in {named} ({_per_bucket(result.named)}); matched "
        f"{sum(result.matched.values())} ({_per_bucket(result.matched)})"
    )
    name = f"recall: {result.query}"
    if not named:
        recall = not_measured(
            SCENARIO, name, "%", at_least(100, "%"), f"no story names it; {counts}"
        )
    else:
        missed = "; missed: " + "; ".join(result.missed) if result.missed else ""
        recall = Figure(
            SCENARIO, name, result.recall * 100, "%", at_least(100, "%"), counts + missed
        )
    false = Figure(
        SCENARIO,
        f"false matches: {result.query}",
        len(result.false),
        "stories",
        at_most(0, "stories"),
        "; ".join(result.false) or "none",
    )
    return [recall, false]


def total_figures(results: Sequence[QueryResult]) -> list[Figure]:
    """Return recall and false matches over the nine queries."""
    named = sum(sum(result.named.values()) for result in results)
    found = sum(sum(result.found.values()) for result in results)
    queries = f"{len(results)} queries"
    return [
        Figure(
            SCENARIO,
            f"recall, all {queries}",
            found / named * 100 if named else float("nan"),
            "%",
            at_least(100, "%"),
            f"{found} of {named} (query, story) pairs where the story names the entity",
        ),
        Figure(
            SCENARIO,
            f"false matches, all {queries}",
            sum(len(result.false) for result in results),
            "stories",
            at_most(0, "stories"),
            "(query, story) pairs matched where the story does not name the entity",
        ),
    ]


def unmeasured(directory: Path) -> list[Figure]:
    """Return the recall figures as not measured: there is no corpus to measure them on."""
    why = f"needs the real corpus ({directory} is absent or holds no feed)"
    figures = [
        not_measured(SCENARIO, f"{kind}: {query}", unit, target, why)
        for query, _ in QUERIES
        for kind, unit, target in (
            ("recall", "%", at_least(100, "%")),
            ("false matches", "stories", at_most(0, "stories")),
        )
    ]
    all_queries = f"all {len(QUERIES)} queries"
    return [
        *figures,
        not_measured(SCENARIO, f"recall, {all_queries}", "%", at_least(100, "%"), why),
        not_measured(
            SCENARIO, f"false matches, {all_queries}", "stories", at_most(0, "stories"), why
        ),
    ]


def log_details(run: Run, results: Sequence[QueryResult]) -> None:
    """Print each query's counts, false matches and misses."""
    for result in results:
        run.log(
            f"  {result.query}: recall {result.recall:.3f}, named {_per_bucket(result.named)}; "
            f"matched {_per_bucket(result.matched)}"
        )
        for story in result.false:
            run.log(f"    FALSE {story}")
        for story in result.missed:
            run.log(f"    MISSED {story}")


async def run(run: Run) -> list[Figure]:
    """Measure recall and false matches on the corpus, then morphology's cost and memory."""
    files = corpus_files(run.corpus_dir, run.sizes.recall_feeds)
    if not files:
        figures = unmeasured(run.corpus_dir)
        uk_ru: list[Path] = []
    else:
        stories, languages = await read_corpus(files)
        if run.corpus is None:
            run.corpus = {
                "kind": "real",
                "source": f"{len(stories)} stories of {len(files)} real feeds in {run.corpus_dir}",
                "items": len(stories),
                "words": sum(len(story.analyzed.words) for story in stories),
            }
        results = evaluate(stories)
        log_details(run, results)
        figures = [figure for result in results for figure in query_figures(result)]
        figures += total_figures(results)
        uk_ru = [path for path in files if languages.get(path) in MORPHOLOGY_LANGUAGES]
    return figures + await morphology_cost.run(run, uk_ru)
