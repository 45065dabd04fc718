"""Ground truth for scenario 8: does a story name Ukraine, NATO, Putin or Zelensky?

Written by hand from how the press of the eight alias languages (en, uk, ru, de, fr, es, it,
pt) writes each name and its inflected forms, and independent of the matcher: no tokenizer,
lemmatizer or alias table, only case-sensitive regular expressions over the story's text
(title and cleaned body, as the matcher sees them). A name counts as a proper noun is
written: capitalised, or all in capitals in a headline. What does not name the entity:
adjectives and nouns made from the name ("Ukrainian", "українські", "Ukrainer", "путінський",
"Putinism"), look-alike words ("Donato", Italian "nato" = born, "путина" = fishing season,
"Rasputin"), and other people of the name (Olena Zelenska, "Зеленська", "Зеленская").
tests/test_bench_oracle.py holds the cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Queries of the issue, and the entity each one asks for.
QUERIES: tuple[tuple[str, str], ...] = (
    ("Ukraine", "ukraine"),
    ("Україна", "ukraine"),
    ("Украина", "ukraine"),
    ("NATO", "nato"),
    ("НАТО", "nato"),
    ("Putin", "putin"),
    ("Путін", "putin"),
    ("Путин", "putin"),
    ("Zelensky", "zelensky"),
)


def _name(stem: str, endings: Iterable[str] = ("",)) -> str:
    """Return a pattern for a name's forms, as written (Stem+ending) or in capitals."""
    endings = tuple(endings)
    written = "|".join(re.escape(stem + ending) for ending in endings)
    capitals = "|".join(re.escape((stem + ending).upper()) for ending in endings)
    return rf"\b(?:{written}|{capitals})\b"


def _either(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


# English possessive and plural, German genitive (Putins, Selenskyjs).
_LATIN_ENDINGS = ("", "s", "'s", "’s")
# The cases of a Ukrainian or Russian noun of this kind: nominative, genitive, dative,
# accusative, instrumental, locative (and the vocative in -о of Україна).
_UKRAINIAN_FEMININE = ("а", "и", "і", "у", "ою", "о")
_RUSSIAN_FEMININE = ("а", "ы", "е", "у", "ой", "ою")
_UKRAINIAN_SURNAME = ("", "а", "у", "ові", "ом", "им", "і")  # Путін, Путіна, Путінові...
_RUSSIAN_SURNAME = ("", "а", "у", "ом", "ым", "е")  # Путин, Путина, Путину, Путиным...
# Zelensky declines as an adjective; the masculine forms only (Зеленська is his wife),
# and the plural "Зеленські", the couple, which names him too.
_UKRAINIAN_ADJECTIVAL = ("ий", "ого", "ому", "им", "ім", "і", "их", "ими")
_RUSSIAN_ADJECTIVAL = ("ий", "ого", "ому", "им", "ом", "ие", "их", "ими")

ORACLES: dict[str, re.Pattern[str]] = {
    "ukraine": _either(
        _name("Ukraine", _LATIN_ENDINGS),  # en, de, fr
        _name("Україн", _UKRAINIAN_FEMININE),
        _name("Украин", _RUSSIAN_FEMININE),
        _name("Ucrania"),  # es
        _name("Ucraina"),  # it
        _name("Ucrânia"),  # pt
    ),
    "nato": _either(
        _name("NATO", _LATIN_ENDINGS),
        r"\bNato(?:s|'s|’s)?\b",  # de, it; British style
        r"\bНАТО\b",  # uk, ru: indeclinable
        r"\bOTAN\b",  # fr, es, pt
        r"\bNorth Atlantic Treaty Organi[sz]ation\b",
        r"\bПівнічноатлантичн(?:ий|ого|ому|им|ім) альянс(?:у|ом|і)?\b",
        r"\bСевероатлантическ(?:ий|ого|ому|им|ом) альянс(?:а|у|ом|е)?\b",
    ),
    "putin": _either(
        _name("Putin", _LATIN_ENDINGS),  # en, de, es, it, pt
        _name("Poutine"),  # fr
        _name("Путін", _UKRAINIAN_SURNAME),
        _name("Путин", _RUSSIAN_SURNAME),
    ),
    "zelensky": _either(
        *(_name(spelling, _LATIN_ENDINGS) for spelling in ("Zelensky", "Zelenskyy", "Zelenskiy")),
        _name("Zelenskyi", _LATIN_ENDINGS),
        _name("Zelenski", _LATIN_ENDINGS),  # fr, es, it, pt
        _name("Selenskyj", _LATIN_ENDINGS),  # de
        _name("Зеленськ", _UKRAINIAN_ADJECTIVAL),
        _name("Зеленск", _RUSSIAN_ADJECTIVAL),
    ),
}


def names_in(entity: str, text: str) -> list[str]:
    """Return every name of the entity the text writes, as written, in order."""
    return [match.group() for match in ORACLES[entity].finditer(text)]


def names(entity: str, text: str) -> bool:
    """Tell whether the text names the entity."""
    return ORACLES[entity].search(text) is not None
