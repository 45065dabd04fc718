"""Names of the same thing across languages: countries (CLDR) and a curated table.

data/countries.json holds every country's name in en, uk, ru, de, fr, es, it and pt, taken
from CLDR through Babel by scripts/countries_from_cldr.py (no network at run time).
data/entities.toml is the curated table of organisations, people and places with no
installable source (NATO, Putin, Kyiv...); an entry whose id is a country code adds names to
that country. Each curated entry carries sentences that must and must not match, which the
test suite checks (tests/test_aliases.py), so adding an entry is adding data.

A name counts in a story only as a proper noun is written: capitalised (or in capitals);
names listed under `upper` only in capitals. Names listed under `capital` or `upper` are
common words otherwise (Italian "nato", French "un"), so the rule also holds for a reader's
own query word when it is such a name.
"""

import functools
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.text.analyzer import CAPITALISED, LOWER, UPPER
from bot.text.normalize import tokenize

DATA_DIR = Path(__file__).parent / "data"
LANGUAGES = ("en", "uk", "ru", "de", "fr", "es", "it", "pt")


@dataclass(frozen=True, slots=True)
class Name:
    """One name of an entity, in one language."""

    text: str  # as written, for people to read
    language: str
    words: tuple[str, ...]  # folded
    case: int  # how a story must write its first word (all words when UPPER)
    strict: bool  # the case rule holds for a reader's own query word too


@dataclass(frozen=True, slots=True)
class Entity:
    """A country, organisation, person or place, and its names."""

    id: str
    names: tuple[Name, ...]


def _names(entry: Mapping[str, Any], upper: set[str], capital: set[str]) -> list[Name]:
    names: list[Name] = []
    for language in LANGUAGES:
        for text in entry.get(language, ()):
            words = tuple(tokenize(text))
            if not words:
                continue
            strict = text in upper or text in capital
            case = UPPER if text in upper else CAPITALISED
            names.append(Name(text, language, words, case, strict))
    return names


def _merge(entities: dict[str, list[Name]], entity_id: str, names: Iterable[Name]) -> None:
    known = entities.setdefault(entity_id, [])
    # "UE" (only in capitals) and "Ue" (capitalised) fold alike and are both kept.
    seen = {(name.language, name.words, name.case) for name in known}
    for name in names:
        if (name.language, name.words, name.case) not in seen:
            seen.add((name.language, name.words, name.case))
            known.append(name)


def read_entities(
    countries: Mapping[str, Mapping[str, list[str]]], curated: Iterable[Mapping[str, Any]]
) -> tuple[Entity, ...]:
    """Return the entities of the country table and the curated entries (merged by id)."""
    entities: dict[str, list[Name]] = {}
    for code, by_language in sorted(countries.items()):
        _merge(entities, code, _names(by_language, set(), set()))
    for entry in curated:
        upper, capital = set(entry.get("upper", ())), set(entry.get("capital", ()))
        _merge(entities, str(entry["id"]), _names(entry, upper, capital))
    return tuple(Entity(entity_id, tuple(names)) for entity_id, names in entities.items())


def read_curated(path: Path = DATA_DIR / "entities.toml") -> list[dict[str, Any]]:
    """Return the curated table's entries as written."""
    with path.open("rb") as file:
        entries: list[dict[str, Any]] = tomllib.load(file)["entity"]
    return entries


@functools.cache
def shipped_entities() -> tuple[Entity, ...]:
    """Return the entities of the data shipped with the package (read once)."""
    with (DATA_DIR / "countries.json").open(encoding="utf-8") as file:
        countries = json.load(file)
    return read_entities(countries, read_curated())


def own_word_case(entity: Entity, word: str) -> int:
    """Return the case rule a reader's own query word inherits from a strict name."""
    rules = [n.case for n in entity.names if n.strict and n.words == (word,)]
    return max(rules, default=LOWER)
