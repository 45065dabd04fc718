"""Write bot/matching/data/countries.json: every country's name in the 8 alias languages.

A dev tool, run by hand when Babel (and with it CLDR) is upgraded; the bot never runs it and
needs no network: the JSON is committed and shipped with the package. Regenerate with

    python scripts/countries_from_cldr.py

(from the project root, with the project's virtualenv). The output is deterministic: sorted
keys, ``ensure_ascii=False``, ``indent=1``, a trailing newline; a rerun with the same Babel
changes nothing.

Shape: ``{"UA": {"en": ["Ukraine"], "uk": ["Україна"], ...}, ...}``, keyed by CLDR's
two-letter territory code, one list of names per language, the CLDR name first.

Names come from ``babel.Locale(lang).territories``. Babel keeps only CLDR's main name per
territory, not its ``alt="short"`` or ``alt="variant"`` forms ("Hong Kong" for "Hong Kong
SAR China", "Burma", "Czech Republic"): names newspapers write that CLDR's main name misses
are curated in bot/matching/data/entities.toml under the country's code, not here. The
script only spells out CLDR's own abbreviations, since a story writes them out:

* English "&" becomes "and" ("Bosnia & Herzegovina" adds "Bosnia and Herzegovina");
* English "St. " becomes "Saint " ("St. Lucia" adds "Saint Lucia");
* Russian "о-в" / "о-ва" become "остров" / "острова" ("Кокосовые о-ва" adds "Кокосовые
  острова").

Codes skipped, and why:

* numeric codes ("001" world, "150" Europe, "419" Latin America, ...): UN M.49 regions,
  groupings of countries, not one place;
* ZZ "Unknown Region": a placeholder;
* XA "Pseudo-Accents", XB "Pseudo-Bidi": pseudo-locales for testing software;
* EU "European Union", EZ "Eurozone": unions of countries (the EU is curated in
  entities.toml as an organisation);
* UN "United Nations": an organisation (curated in entities.toml);
* QO "Outlying Oceania": a grouping of small islands, not one territory.

Every other two-letter code is kept, including CLDR's exceptional reservations that name real
places (AC Ascension Island, CP Clipperton, DG Diego Garcia, EA Ceuta & Melilla, IC Canary
Islands, TA Tristan da Cunha, CQ Sark) and XK Kosovo.
"""

import json
import re
from pathlib import Path

from babel import Locale

LANGUAGES = ("en", "uk", "ru", "de", "fr", "es", "it", "pt")
SKIPPED = frozenset({"ZZ", "XA", "XB", "EU", "EZ", "UN", "QO"})
OUTPUT = Path(__file__).resolve().parents[1] / "bot" / "matching" / "data" / "countries.json"

# CLDR's abbreviations, spelled out as a story writes them: (language, pattern, replacement).
SPELLED_OUT: tuple[tuple[str, str, str], ...] = (
    ("en", r" & ", " and "),
    ("en", r"\bSt\. ", "Saint "),
    ("ru", r"(?<!\w)о-ва(?!\w)", "острова"),
    ("ru", r"(?<!\w)о-в(?!\w)", "остров"),
)


def is_country(code: object) -> bool:
    """Say whether a CLDR territory code names one country or territory."""
    return (
        isinstance(code, str)
        and len(code) == 2
        and code.isascii()
        and code.isalpha()
        and code not in SKIPPED
    )


def names(language: str, cldr_name: str) -> list[str]:
    """Return the CLDR name, then the same name with its abbreviations spelled out."""
    spelled = cldr_name
    for where, pattern, replacement in SPELLED_OUT:
        if where == language:
            spelled = re.sub(pattern, replacement, spelled)
    return [cldr_name] if spelled == cldr_name else [cldr_name, spelled]


def countries() -> dict[str, dict[str, list[str]]]:
    """Return every country's names, by code, then by language."""
    territories = {language: Locale(language).territories for language in LANGUAGES}
    codes = sorted(str(code) for code in territories["en"] if is_country(code))
    table: dict[str, dict[str, list[str]]] = {}
    for code in codes:
        table[code] = {}
        for language in LANGUAGES:
            name = territories[language].get(code)
            if name is None:
                raise SystemExit(f"CLDR has no {language} name for {code}")
            table[code][language] = names(language, name.strip())
    return table


def main() -> None:
    text = json.dumps(countries(), ensure_ascii=False, indent=1, sort_keys=True)
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
