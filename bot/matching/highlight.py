"""Which words of a shown text made a story match: the spans an alert puts in bold.

An alert names the queries a story matched; the reader should see at a glance why. The
title and summary are analysed as the index analyses a story (the same tokenizer, lemmas
and case), each query's wanted terms are looked for with the same patterns (so "України"
stands out for "Україна" and "Russia's" for "Russia"), and the words they cover come back as
character spans of the text as written. Excluded terms are never marked: they did not match.

Pure: text in, spans out. When the text's words cannot be lined up with the analyser's
(a rare Unicode normalisation that merges or splits words), nothing is marked rather than
the wrong thing.
"""

import functools
import re
from collections.abc import Iterable, Sequence

from bot.matching.expand import compiled
from bot.matching.patterns import StoryView, spans
from bot.matching.query import Query, QueryError, Term, parse_query
from bot.text.analyzer import analyze
from bot.text.normalize import tokenize

# A run of letters and digits with the apostrophes written inside words ("NATO's", "l'Ukraine",
# "об'єднання"): the tokenizer never makes a word across anything else, so each of its words
# lies inside one run, and a matched word marks its whole run (quotes around it left out).
_RUN = re.compile(r"\w(?:[\w'’ʼ`]*\w)?")
# Telegram formats at most 100 entities in a message; a title and summary need far fewer
# marks to say why they matched.
MAX_MARKS = 20

Span = tuple[int, int]


def matched_spans(text: str, queries: Sequence[str], language: str | None = None) -> list[Span]:
    """Return the (start, end) character spans of text that the queries' wanted terms hit.

    Spans are in order, do not overlap, and words of one hit standing side by side (a
    phrase, "Vladimir Putin") make one span. A query that does not parse is skipped.
    """
    terms = _wanted_terms(tuple(queries))
    if not terms or not text:
        return []
    runs = [(match.start(), match.end()) for match in _RUN.finditer(text)]
    owners: list[int] = []  # per analysed word, the run it lies in
    for number, (start, end) in enumerate(runs):
        run = text[start:end]
        # A run of ASCII letters, digits and "_" is one word (folding only lowers it).
        plain = run.isascii() and "'" not in run and "`" not in run
        words = 1 if plain else len(tokenize(run))
        owners.extend([number] * words)
    analyzed = analyze(text, language)
    if len(owners) != len(analyzed.words):
        return []
    view = StoryView(analyzed)
    hit_runs = sorted({owners[position] for position in _hit_positions(terms, view)})
    return _joined([runs[number] for number in hit_runs], text)[:MAX_MARKS]


@functools.lru_cache(maxsize=4096)
def _wanted_terms(queries: tuple[str, ...]) -> tuple[Term, ...]:
    """Return the distinct terms the queries ask for (not those they exclude); an alert's
    queries come back again and again, so their parse is remembered."""
    terms: dict[Term, None] = {}
    for text in queries:
        try:
            query: Query = parse_query(text)
        except QueryError:
            continue  # a query saved under older rules: show the alert without marks
        for group in query.groups:
            # A NEAR term's two terms are marked wherever they stand.
            terms.update(dict.fromkeys(part for term in group for part in (term.near or (term,))))
    return tuple(terms)


def _hit_positions(terms: Iterable[Term], view: StoryView) -> set[int]:
    """Return the positions of the words that the terms' patterns or prefixes cover."""
    return {
        position
        for term in terms
        for first, last in spans(compiled(term), view)
        for position in range(first, last + 1)
    }


def _joined(spans: list[Span], text: str) -> list[Span]:
    """Return spans with neighbours separated by spaces alone merged into one."""
    joined: list[Span] = []
    for start, end in spans:
        if joined and not text[joined[-1][1] : start].strip():
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined
