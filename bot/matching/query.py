"""The subscription query language: parse, validate, normalise and match one query."""

from dataclasses import dataclass
from enum import Enum

from bot.i18n import N_, t
from bot.text.normalize import tokenize

MAX_QUERY_LENGTH = 100
MAX_QUERY_TERMS = 10
MIN_PREFIX_LENGTH = 2
OR_OPERATOR = "OR"


class QueryError(ValueError):
    """The text is not a valid query; str(error) explains why in plain words.

    The reason is a catalogue msgid and its parameters, so it can be shown in any locale.
    """

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        """The reason in the current locale (read when shown, not when raised)."""
        return t(self.msgid, **self.params)


class TermKind(Enum):
    """How a term is compared with a story's words."""

    WORD = "word"  # the word, its plural, its lemmas, its aliases in other languages
    EXACT = "exact"  # a quoted single word: that word only, as Google reads "word"
    PREFIX = "prefix"
    PHRASE = "phrase"


@dataclass(frozen=True, order=True)
class Term:
    """One searchable unit: a word, a word prefix, or a phrase of adjacent words."""

    kind: TermKind
    words: tuple[str, ...]

    @property
    def canonical(self) -> str:
        """Return the term as it appears in a normalised query."""
        if self.kind is TermKind.PREFIX:
            return self.words[0] + "*"
        if self.kind in (TermKind.PHRASE, TermKind.EXACT):
            return '"' + " ".join(self.words) + '"'
        return self.words[0]


@dataclass(frozen=True)
class Query:
    """A parsed query: every group must match (a group is terms joined by OR), no exclusion."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]
    display: str

    @property
    def normalised(self) -> str:
        """Return the canonical text: equal for queries that always match the same stories."""
        parts = [" OR ".join(term.canonical for term in group) for group in self.groups]
        parts += ["-" + term.canonical for term in self.excluded]
        return " ".join(parts)

    @property
    def terms(self) -> tuple[Term, ...]:
        """Return every distinct term, required or excluded."""
        required = {term for group in self.groups for term in group}
        return tuple(sorted(required | set(self.excluded), key=_sort_key))


def _sort_key(term: Term) -> tuple[str, str]:
    return (term.canonical, term.kind.value)


@dataclass(frozen=True)
class _Token:
    """A lexical unit of the query text: an operator, or a term possibly negated."""

    term: Term | None
    negated: bool = False

    @property
    def is_or(self) -> bool:
        return self.term is None


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
    groups, excluded = _group(_lex(display))
    if not groups and not excluded:
        raise QueryError(N_("it has no letters or digits to look for"))
    if not groups:
        raise QueryError(N_("it only excludes words; say what stories you want too"))
    term_count = sum(len(group) for group in groups) + len(excluded)
    if term_count > MAX_QUERY_TERMS:
        raise QueryError(
            N_("it has {count} terms; the limit is {limit}"),
            count=term_count,
            limit=MAX_QUERY_TERMS,
        )
    for group in groups:
        if len(group) == 1 and group[0] in excluded:
            raise QueryError(N_("it both requires and excludes {term}"), term=group[0].canonical)
    return Query(groups=groups, excluded=excluded, display=display)


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
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
                tokens.append(_Token(term=None))
                continue
            term = _bare_term(raw)
        if term is not None:
            tokens.append(_Token(term=term, negated=negated))
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


def _group(tokens: list[_Token]) -> tuple[tuple[tuple[Term, ...], ...], tuple[Term, ...]]:
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
    unique_groups = {tuple(sorted(group, key=_sort_key)) for group in groups}
    ordered = tuple(sorted(unique_groups, key=lambda group: [_sort_key(t) for t in group]))
    return ordered, tuple(sorted(excluded, key=_sort_key))
