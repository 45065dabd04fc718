"""The query text read into tokens: terms (maybe negated), OR, NEAR/n and source: filters."""

from dataclasses import dataclass

from bot.i18n import N_
from bot.matching.vocabulary import (
    MAX_NEAR_DISTANCE,
    MIN_PREFIX_LENGTH,
    MIN_SOURCE_LENGTH,
    NEAR_OPERATOR,
    OR_OPERATOR,
    SOURCE_PREFIX,
    QueryError,
    Term,
    TermKind,
    near_term,
)
from bot.text.normalize import fold, tokenize


@dataclass(slots=True)  # not frozen: a frozen dataclass pays for every field it sets
class Token:
    """A lexical unit of the query text: OR, NEAR/n, a source filter or a term, maybe negated."""

    term: Term | None
    negated: bool = False
    near: int | None = None  # the distance of a NEAR/n operator
    source: str | None = None  # a source: filter's folded outlet name

    @property
    def is_or(self) -> bool:
        return self.term is None and self.near is None and self.source is None


def lex(text: str) -> list[Token]:
    """Split a query's text into tokens; raise QueryError on a malformed one."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        negated = text[position] == "-"
        if negated:
            position += 1
        if position < len(text) and text[position] == '"':
            closing = text.find('"', position + 1)
            if closing < 0:
                raise QueryError(N_('a quote is not closed; put phrases between two " marks'))
            term = _phrase_term(text[position + 1 : closing], quoted=True)
            position = closing + 1
        else:
            end = position
            while end < len(text) and not text[end].isspace() and text[end] != '"':
                end += 1
            raw = text[position:end]
            position = end
            if raw == OR_OPERATOR and not negated:
                tokens.append(Token(term=None))
                continue
            # The "/" and ":" tests first: most words have neither, and cost no casefold.
            if "/" in raw and raw[: len(NEAR_OPERATOR)].casefold() == NEAR_OPERATOR:
                tokens.append(Token(term=None, negated=negated, near=_near_distance(raw)))
                continue
            if ":" in raw and raw[: len(SOURCE_PREFIX)].casefold() == SOURCE_PREFIX:
                source, position = _source(text, raw, position)
                tokens.append(Token(term=None, negated=negated, source=source))
                continue
            term = _bare_term(raw)
        if term is not None:
            tokens.append(Token(term=term, negated=negated))
    return tokens


def _phrase_term(raw: str, *, quoted: bool = False) -> Term | None:
    if "*" in raw:
        raise QueryError(N_("* works at the end of a single word, not inside quotes"))
    words = tuple(tokenize(raw))
    if not words:
        return None
    if len(words) > 1:
        return Term(TermKind.PHRASE, words)
    return Term(TermKind.EXACT if quoted else TermKind.WORD, words)


def _bare_term(raw: str) -> Term | None:
    if raw.endswith("*"):
        stem = raw[:-1]
        words = tuple(tokenize(stem))
        if "*" in stem or len(words) != 1:
            raise QueryError(
                N_("{raw!r}: * works at the end of a single word, like Ukrain*"), raw=raw
            )
        if len(words[0]) < MIN_PREFIX_LENGTH:
            raise QueryError(
                N_("{raw!r} is too short: put at least {length} letters before *"),
                raw=raw,
                length=MIN_PREFIX_LENGTH,
            )
        return Term(TermKind.PREFIX, words)
    if "*" in raw:
        raise QueryError(N_("{raw!r}: * works at the end of a single word, like Ukrain*"), raw=raw)
    return _phrase_term(raw)


def _near_distance(raw: str) -> int:
    digits = raw[len(NEAR_OPERATOR) :]
    if not digits.isascii() or not digits.isdigit() or not 1 <= int(digits) <= MAX_NEAR_DISTANCE:
        raise QueryError(
            N_("{raw!r}: write NEAR/ and a number of words from 1 to {limit}, like NEAR/5"),
            raw=raw,
            limit=MAX_NEAR_DISTANCE,
        )
    return int(digits)


def _source(text: str, raw: str, position: int) -> tuple[str, int]:
    """Return a source filter's folded outlet name, and where the query text goes on.

    The name is the rest of the word (source:bbc.co.uk) or a quoted text (source:"kyiv post").
    """
    name = raw[len(SOURCE_PREFIX) :]
    if not name and position < len(text) and text[position] == '"':
        closing = text.find('"', position + 1)
        if closing < 0:
            raise QueryError(N_('a quote is not closed; put phrases between two " marks'))
        name, position = text[position + 1 : closing], closing + 1
    folded = " ".join(fold(name).split())
    if sum(char.isalnum() for char in folded) < MIN_SOURCE_LENGTH:
        raise QueryError(
            N_("{raw!r}: say which outlet after source:, like source:bbc"), raw=SOURCE_PREFIX + name
        )
    return folded, position


def join_near(tokens: list[Token]) -> list[Token]:
    """Return the tokens with every `term NEAR/n term` made one NEAR term."""
    if all(token.near is None for token in tokens):
        return tokens  # most queries
    joined: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.near is None:
            joined.append(token)
            continue
        before = joined[-1] if joined else None
        after = tokens[index] if index < len(tokens) else None
        if token.negated or (before and before.negated) or (after and after.negated):
            raise QueryError(N_("a NEAR pair cannot be excluded with -"))
        if before is None or before.term is None or after is None or after.term is None:
            raise QueryError(
                N_("NEAR/{distance} must stand between two words, like Putin NEAR/5 Trump"),
                distance=token.near,
            )
        chained = index + 1 < len(tokens) and tokens[index + 1].near is not None
        if before.term.kind is TermKind.NEAR or chained:
            raise QueryError(
                N_("NEAR joins two terms only; a chain like a NEAR/3 b NEAR/3 c is not supported")
            )
        if before.term == after.term:
            raise QueryError(N_("NEAR needs two different terms, like Putin NEAR/5 Trump"))
        joined[-1] = Token(term=near_term(before.term, after.term, token.near))
        index += 1
    return joined
