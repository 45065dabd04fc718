"""A dry run's search: which stored stories match a query, asked of a full-text index.

`/try` asks a query of the past week's stories. Each story is indexed under tokens for what
live matching looks at: its words, its lemma keys, how each was written (capitalised, in
capitals) and its language. `search` turns a query into an expression over those tokens.
For most queries it is exact: a term whose patterns are single words (plain, quoted, an
alias, with their plurals, lemmas, case and language rules) holds in a story exactly when
its tokens do, a prefix likewise, and so whole queries of them, exclusions included. Only a
term of several adjacent words (a phrase, a multi-word alias) needs positions: the index
then gives candidates holding every word of it (a superset) and each is matched again on its
stored analysis (bot.matching.match.query_matches); so does a NEAR term (both its terms).

Tokens are plain letters and digits: a word's UTF-8 in hexadecimal (so a prefix of a word
is a prefix of its token), a lemma key ("uk:україна") the same after an "x", and markers
that are not hex digits ("y": written at least capitalised, "z": in capitals, "l": the
language), which no word prefix can reach.

Pure: a query or an analysis in, tokens out.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from bot.matching.expand import compiled
from bot.matching.patterns import CompiledTerm, Pattern, Slot, forms
from bot.matching.query import Query
from bot.text.analyzer import CAPITALISED, LOWER, UPPER, AnalyzedText

# How far back a dry run looks: stories seen in the last week.
DRY_RUN_DAYS = 7


def window_start(now: float) -> float:
    """Return when the dry run's window begins: stories seen since then are searched (and
    their texts kept)."""
    return now - DRY_RUN_DAYS * 86_400.0


_CASE_MARKERS = {CAPITALISED: "y", UPPER: "z"}
_LEMMA_MARKER = "x"
_LANGUAGE_MARKER = "l"


@dataclass(frozen=True, slots=True)
class Token:
    """A token a story holds, exactly or (prefix) as the start of one of its tokens."""

    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every part holds."""

    parts: tuple["Expression", ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple["Expression", ...]


Expression = Token | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class Ask:
    """Stories holding `wanted` (None: every story) and not `unwanted`."""

    wanted: Expression | None
    unwanted: Expression | None = None


@dataclass(frozen=True, slots=True)
class Search:
    """What the index is asked for a query: `candidates` hold every match; the stories
    `sure` gives (None: none) are matches. Where the two differ, the candidates not sure
    are matched one by one."""

    candidates: Ask
    sure: Ask | None

    @property
    def exact(self) -> bool:
        """Whether the index alone answers: the candidates are the matches."""
        return self.sure == self.candidates


@dataclass(frozen=True, slots=True)
class _TermSearch:
    """A term in tokens: sure holds only where it occurs, maybe wherever it occurs (None:
    never sure, or nothing narrows it)."""

    sure: Expression | None
    maybe: Expression | None


def key_token(key: str) -> str:
    """Return the token of a word, or of a lemma key (which holds a ":")."""
    hexed = key.encode("utf-8").hex()
    return _LEMMA_MARKER + hexed if ":" in key else hexed


def story_tokens(text: AnalyzedText) -> list[str]:
    """Return the distinct tokens a story is indexed under, sorted (the same every time)."""
    tokens = {_LANGUAGE_MARKER + (text.language or "").encode("utf-8").hex()}
    for position, key in text.positioned_keys():
        token = key_token(key)
        tokens.add(token)
        case = text.case_at(position)
        tokens.update(_CASE_MARKERS[at] + token for at in (CAPITALISED, UPPER) if case >= at)
    return sorted(tokens)


def search(query: Query) -> Search:
    """Return what to ask the index for the query (see the module doc)."""
    groups = [[_term(compiled(term)) for term in group] for group in query.groups]
    excluded = [_term(compiled(term)) for term in query.excluded]
    # Candidates: every group's terms wherever they may occur, none of the exclusions
    # that surely occur. Sure: a single-word form of each group, no exclusion that may.
    narrowing = [g for g in groups if all(t.maybe is not None for t in g)]
    candidates = Ask(
        _all([_any([t.maybe for t in g if t.maybe is not None]) for g in narrowing]),
        _any([t.sure for t in excluded if t.sure is not None]),
    )
    sure: Ask | None = None
    # The index knows no outlets: a query with source filters is never sure by it alone.
    if (
        not query.has_source_filter
        and all(any(t.sure is not None for t in g) for g in groups)
        and all(t.maybe is not None for t in excluded)
    ):
        sure = Ask(
            _all([_any([t.sure for t in g if t.sure is not None]) for g in groups]),
            _any([t.maybe for t in excluded if t.maybe is not None]),
        )
    return Search(candidates, sure)


def _term(term: CompiledTerm) -> _TermSearch:
    if term.near is not None:
        # Both terms, wherever they stand: candidates only, their positions decide.
        return _TermSearch(None, _all(_term(part).maybe for part in term.near))
    if term.prefix is not None:
        token = Token(term.prefix.encode("utf-8").hex(), prefix=True) if term.prefix else None
        return _TermSearch(token, token)
    sure: list[Expression] = []
    maybe: list[Expression] = []
    narrows = True
    for pattern in term.patterns:
        found = _pattern(pattern)
        if found is None:
            narrows = False
            continue
        maybe.append(found)
        if len(pattern.slots) == 1:
            sure.append(found)  # a single word needs no positions: holding it is matching
    return _TermSearch(_any(sure), _any(maybe) if narrows else None)


def _pattern(pattern: Pattern) -> Expression | None:
    slots = [_slot(slot) for slot in pattern.slots]
    if any(slot is None for slot in slots):
        return None
    if pattern.languages is not None:
        # A pattern for some languages applies to stories in them, or of no known language.
        languages = ["", *sorted(pattern.languages)]
        slots.append(_any(Token(_LANGUAGE_MARKER + code.encode().hex()) for code in languages))
    return _all(slots)


def _slot(slot: Slot) -> Expression | None:
    keys = forms(slot)
    if not keys or "" in keys:
        return None  # an empty key stands anywhere: nothing to look up
    marker = "" if slot.case == LOWER else _CASE_MARKERS[slot.case]
    return _any(Token(marker + key_token(key)) for key in sorted(keys))


def _any(parts: Iterable[Expression]) -> Expression | None:
    found = tuple(dict.fromkeys(parts))
    if not found:
        return None
    return found[0] if len(found) == 1 else AnyOf(found)


def _all(parts: Iterable[Expression | None]) -> Expression | None:
    found = tuple(dict.fromkeys(part for part in parts if part is not None))
    if not found:
        return None
    return found[0] if len(found) == 1 else AllOf(found)
