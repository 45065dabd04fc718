"""Which language a story is written in, as far as matching needs to know."""

import re

# The languages whose words are also indexed under their dictionary forms (morphology.py).
MORPHOLOGY_LANGUAGES = ("uk", "ru")
# Tags feeds use for Ukrainian that are not ISO 639-1 ("ua" is the country code, common on
# Ukrainian sites; "ukr" is ISO 639-2).
_TAG_ALIASES = {"ua": "uk", "ukr": "uk", "rus": "ru"}
_PRIMARY_SUBTAG = re.compile(r"[A-Za-z]{2,3}")
# Letters only one of the two languages writes: і ї є ґ are Ukrainian, ы э ъ ё Russian.
UKRAINIAN_ONLY = frozenset("іїєґ")
RUSSIAN_ONLY = frozenset("ыэъё")
_CYRILLIC = re.compile(r"[а-яёіїєґ]")
_LATIN = re.compile(r"[a-z]")


def language_tag(declared: str | None) -> str | None:
    """Return the primary language subtag of a feed's declared language, lower case."""
    if not declared:
        return None
    match = _PRIMARY_SUBTAG.match(declared.strip())
    if match is None:
        return None
    tag = match.group().lower()
    return _TAG_ALIASES.get(tag, tag)


def script_language(text: str) -> str | None:
    """Guess uk or ru from the letters of mostly-Cyrillic text; None if neither."""
    if text.isascii():
        return None  # no Cyrillic letter
    folded_text = text.lower()  # not fold(): that writes ё as е, and ё tells Russian
    cyrillic = len(_CYRILLIC.findall(folded_text))
    if not cyrillic or cyrillic < len(_LATIN.findall(folded_text)):
        return None
    ukrainian = sum(folded_text.count(letter) for letter in UKRAINIAN_ONLY)
    russian = sum(folded_text.count(letter) for letter in RUSSIAN_ONLY)
    if ukrainian == russian:
        return None
    return "uk" if ukrainian > russian else "ru"


def is_cyrillic(word: str) -> bool:
    """Tell whether a lower-case word has a Cyrillic letter (uk/ru morphology applies)."""
    return _CYRILLIC.search(word) is not None


def story_language(declared: str | None, text: str) -> str | None:
    """Return the language matching treats a story as: uk, ru, another tag, or None.

    The feed's own <language> decides when it says uk or ru. A feed declaring anything else
    (or nothing) whose story is in Cyrillic gets the script's guess: Ukrainian and Russian
    sites often keep their CMS's default "en-us". Other languages keep the declared tag.
    """
    tag = language_tag(declared)
    if tag in MORPHOLOGY_LANGUAGES:
        return tag
    return script_language(text) or tag
