"""Compile a query term into the patterns it looks for: its word's forms and its aliases.

A bare word stands for itself, its English plural, its lemmas when it is Ukrainian or
Russian (keys of the query word's own language only: a Cyrillic word without a letter only
one of the two writes is tried in each language that knows it), and, when it names an
entity of the alias table, that entity's names in the eight languages, each looked for in
stories of its own language and only as a proper noun is written. A quoted word stands for
itself only. A phrase matches word by word, each word with its forms; a phrase that is an
entity's name also brings the entity's other names. A prefix stays a prefix of words.
"""

import functools

from bot.matching.aliases import Entity, Name, own_word_case, shipped_entities
from bot.matching.patterns import CompiledTerm, Pattern, Slot
from bot.matching.query import NearTerm, Term, TermKind
from bot.text.analyzer import LOWER, UPPER
from bot.text.language import MORPHOLOGY_LANGUAGES, RUSSIAN_ONLY, UKRAINIAN_ONLY, is_cyrillic
from bot.text.morphology import analyzer, lemma_key, lemmatizer


def word_languages(word: str) -> tuple[str, ...]:
    """Return the morphology languages a folded query word may be written in."""
    if not is_cyrillic(word):
        return ()
    if UKRAINIAN_ONLY.intersection(word):
        return ("uk",)
    if RUSSIAN_ONLY.intersection(word):
        return ("ru",)
    known = tuple(lang for lang in MORPHOLOGY_LANGUAGES if analyzer(lang).word_is_known(word))
    return known or MORPHOLOGY_LANGUAGES


def word_keys(word: str, languages: tuple[str, ...]) -> frozenset[str]:
    """Return the keys a word stands for: itself, and its lemmas in each language."""
    keys = {word}
    for language in languages:
        for lemma in lemmatizer(language).query_lemmas(word):
            keys.update((lemma, lemma_key(language, lemma)))
    return frozenset(keys)


def _name_keys(name: Name, word: str) -> frozenset[str]:
    languages = (name.language,) if name.language in MORPHOLOGY_LANGUAGES else ()
    return word_keys(word, languages if is_cyrillic(word) else ())


class AliasIndex:
    """The alias table, looked up by a query word's keys or a phrase's words."""

    def __init__(self, entities: tuple[Entity, ...]) -> None:
        self._by_key: dict[str, Entity] = {}
        self._by_phrase: dict[tuple[str, ...], Entity] = {}
        for entity in entities:
            for name in entity.names:
                if len(name.words) == 1:
                    for key in _name_keys(name, name.words[0]):
                        self._by_key.setdefault(key, entity)
                else:
                    self._by_phrase.setdefault(name.words, entity)

    def for_keys(self, keys: frozenset[str]) -> Entity | None:
        """Return the entity one of the keys names, if any."""
        for key in sorted(keys):
            if key in self._by_key:
                return self._by_key[key]
        return None

    def for_phrase(self, words: tuple[str, ...]) -> Entity | None:
        """Return the entity whose name is exactly this phrase, if any."""
        return self._by_phrase.get(words)


@functools.cache
def shipped_aliases() -> AliasIndex:
    """Return the index of the shipped alias table (built once per process)."""
    return AliasIndex(shipped_entities())


def _name_pattern(name: Name) -> Pattern:
    slots = tuple(
        Slot(
            _name_keys(name, word),
            # English plurals and German genitives (Putins, Palästinas); not for acronyms.
            plural=name.case != UPPER and not is_cyrillic(word),
            case=name.case if index == 0 or name.case == UPPER else LOWER,
        )
        for index, word in enumerate(name.words)
    )
    return Pattern(slots, frozenset({name.language}))


def _covers(wide: Pattern, narrow: Pattern) -> bool:
    """Tell whether every story narrow matches is matched by wide already."""
    if len(wide.slots) != len(narrow.slots):
        return False
    if wide.languages is not None and (
        narrow.languages is None or not narrow.languages <= wide.languages
    ):
        return False
    return all(
        w.keys >= n.keys and w.case <= n.case for w, n in zip(wide.slots, narrow.slots, strict=True)
    )


def _with_aliases(own: Pattern, entity: Entity | None) -> tuple[Pattern, ...]:
    patterns = [own]
    if entity is not None:
        merged: dict[tuple[Slot, ...], set[str]] = {}
        for name in entity.names:
            pattern = _name_pattern(name)
            merged.setdefault(pattern.slots, set()).add(name.language)
        for slots, languages in merged.items():
            candidate = Pattern(slots, frozenset(languages))
            if not any(_covers(kept, candidate) for kept in patterns):
                patterns.append(candidate)
    return tuple(patterns)


def _own_keys(word: str) -> frozenset[str]:
    return word_keys(word, word_languages(word))


def entity_of(
    term: Term, aliases: AliasIndex, own_keys: frozenset[str] | None = None
) -> Entity | None:
    """Return the entity a term names, if any (never for a quoted word or a prefix).

    own_keys: the keys of a single word's own forms, when the caller has them already.
    """
    if term.kind is TermKind.WORD:
        return aliases.for_keys(own_keys or _own_keys(term.words[0]))
    if term.kind is TermKind.PHRASE:
        return aliases.for_phrase(term.words)
    return None


def compile_term(term: Term, aliases: AliasIndex | None = None) -> CompiledTerm:
    """Return what a term looks for in stories."""
    if isinstance(term, NearTerm):
        first, second = (compile_term(part, aliases) for part in term.pair)
        return CompiledTerm(near=(first, second), distance=term.distance)
    if term.kind is TermKind.PREFIX:
        return CompiledTerm(prefix=term.words[0])
    if term.kind is TermKind.EXACT:
        return CompiledTerm((Pattern((Slot(frozenset(term.words), plural=False),)),))
    aliases = shipped_aliases() if aliases is None else aliases
    slots = [Slot(_own_keys(word)) for word in term.words]
    entity = entity_of(term, aliases, slots[0].keys)
    if term.kind is TermKind.WORD and entity is not None:
        slots[0] = Slot(slots[0].keys, case=own_word_case(entity, term.words[0]))
    return CompiledTerm(_with_aliases(Pattern(tuple(slots)), entity))


@functools.lru_cache(maxsize=65_536)
def compiled(term: Term) -> CompiledTerm:
    """Return compile_term(term) with the shipped aliases, remembered per term."""
    return compile_term(term)


def also_matches(terms: tuple[Term, ...]) -> tuple[str, ...]:
    """Return the other names the terms reach through aliases, as written, without repeats."""
    names: list[str] = []
    seen = {word for term in terms for word in term.words}
    for term in [part for given in terms for part in (given.near or (given,))]:
        entity = entity_of(term, shipped_aliases())
        for name in entity.names if entity is not None else ():
            folded = " ".join(name.words)
            if folded not in seen:
                seen.add(folded)
                names.append(name.text)
    return tuple(names)
