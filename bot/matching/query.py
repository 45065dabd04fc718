"""The subscription query language: parse, validate and normalise one query.

Beside words, quoted words, prefixes and phrases, joined by OR and excluded with -, a query
may say `a NEAR/n b` (both terms within n words of each other, either order) and
`source:bbc` / `-source:rt` (keep or drop stories by outlet: feed title or host). The terms
and operators are in vocabulary.py, the reading of the text into tokens in lexer.py.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import N_
from bot.matching.lexer import Token, join_near, lex
from bot.matching.vocabulary import (
    MAX_NEAR_DISTANCE,
    MIN_PREFIX_LENGTH,
    NearTerm,
    QueryError,
    Term,
    TermKind,
    near_term,
    source_canonical,
    term_order,
)

__all__ = [
    "MAX_NEAR_DISTANCE",
    "MAX_QUERY_LENGTH",
    "MAX_QUERY_TERMS",
    "MIN_PREFIX_LENGTH",
    "NearTerm",
    "Query",
    "QueryError",
    "Term",
    "TermKind",
    "near_term",
    "parse_query",
    "split_queries",
]

MAX_QUERY_LENGTH = 100
MAX_QUERY_TERMS = 10


@dataclass(frozen=True)
class Query:
    """A parsed query: every group must match (a group is terms joined by OR), no exclusion.

    sources: the story's outlet must be one of these (none: any outlet); excluded_sources:
    and none of these. A query may be sources alone ("everything from BBC").
    """

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]
    display: str
    sources: tuple[str, ...] = ()
    excluded_sources: tuple[str, ...] = ()

    @property
    def normalised(self) -> str:
        """Return the canonical text: equal for queries that always match the same stories."""
        parts = [" OR ".join(term.canonical for term in group) for group in self.groups]
        parts += [source_canonical(source) for source in self.sources]
        parts += ["-" + term.canonical for term in self.excluded]
        parts += ["-" + source_canonical(source) for source in self.excluded_sources]
        return " ".join(parts)

    @property
    def has_source_filter(self) -> bool:
        """Tell whether the story's outlet decides too."""
        return bool(self.sources or self.excluded_sources)

    @property
    def terms(self) -> tuple[Term, ...]:
        """Return every distinct term, required or excluded."""
        required = {term for group in self.groups for term in group}
        return tuple(sorted(required | set(self.excluded), key=term_order))


def split_queries(text: str) -> list[str]:
    """Split a comma-separated list of queries, keeping commas inside quotes."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        if char == "," and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_query(text: str) -> Query:
    """Parse one query; raise QueryError with a friendly reason when it is not valid."""
    display = " ".join(text.split())
    if not display:
        raise QueryError(N_("the subscription is empty"))
    if len(display) > MAX_QUERY_LENGTH:
        raise QueryError(
            N_("it is {length} characters long; the limit is {limit}"),
            length=len(display),
            limit=MAX_QUERY_LENGTH,
        )
    tokens = join_near(lex(display))
    sources: tuple[str, ...] = ()
    excluded_sources: tuple[str, ...] = ()
    if any(token.source is not None for token in tokens):
        _refuse_or_with_source(tokens)
        sources = _sorted_unique(t.source for t in tokens if t.source and not t.negated)
        excluded_sources = _sorted_unique(t.source for t in tokens if t.source and t.negated)
        tokens = [token for token in tokens if token.source is None]
    groups, excluded = _group(tokens)
    if not groups and not excluded and not sources and not excluded_sources:
        raise QueryError(N_("it has no letters or digits to look for"))
    if not groups and not sources:
        raise QueryError(N_("it only excludes words; say what stories you want too"))
    for source in sorted(set(sources) & set(excluded_sources)):
        raise QueryError(N_("it both requires and excludes {term}"), term=source_canonical(source))
    term_count = (
        sum(_size(term) for group in groups for term in group)
        + sum(map(_size, excluded))
        + len(sources)
        + len(excluded_sources)
    )
    if term_count > MAX_QUERY_TERMS:
        raise QueryError(
            N_("it has {count} terms; the limit is {limit}"),
            count=term_count,
            limit=MAX_QUERY_TERMS,
        )
    for group in groups:
        if len(group) == 1 and group[0] in excluded:
            raise QueryError(N_("it both requires and excludes {term}"), term=group[0].canonical)
    return Query(groups, excluded, display, sources, excluded_sources)


def _refuse_or_with_source(tokens: list[Token]) -> None:
    for index, token in enumerate(tokens):
        if token.is_or and any(t.source is not None for t in tokens[max(index - 1, 0) : index + 2]):
            raise QueryError(
                N_("OR joins words; several source: filters already mean any of those outlets")
            )


def _size(term: Term) -> int:
    return len(term.near) or 1


def _sorted_unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({value for value in values if value}))


def _group(tokens: list[Token]) -> tuple[tuple[tuple[Term, ...], ...], tuple[Term, ...]]:
    groups: list[set[Term]] = []
    excluded: set[Term] = set()
    joining = False
    for index, token in enumerate(tokens):
        if token.is_or:
            previous_ok = index > 0 and not tokens[index - 1].is_or
            if not previous_ok or index == len(tokens) - 1 or tokens[index - 1].negated:
                raise QueryError(N_("OR must stand between two words, like Kyiv OR Kiev"))
            joining = True
            continue
        assert token.term is not None
        if token.negated:
            if joining:
                raise QueryError(N_("OR cannot join an excluded -word"))
            excluded.add(token.term)
        elif joining:
            groups[-1].add(token.term)
        else:
            groups.append({token.term})
        joining = False
    unique_groups = {tuple(sorted(group, key=term_order)) for group in groups}
    ordered = tuple(sorted(unique_groups, key=lambda group: [term_order(t) for t in group]))
    return ordered, tuple(sorted(excluded, key=term_order))
