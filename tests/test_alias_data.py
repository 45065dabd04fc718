"""The alias data shipped with bot/matching: its shape, and that its entries agree.

bot/matching/data/countries.json (CLDR names, made by scripts/countries_from_cldr.py) and
bot/matching/data/entities.toml (the curated table). These tests check the data alone; the
matcher's tests run each entry's match/no_match sentences.
"""

import json
import re
import tomllib
from importlib.resources import files
from typing import Any

import pytest

LANGUAGES = ("en", "uk", "ru", "de", "fr", "es", "it", "pt")
ENTRY_KEYS = frozenset({"id", "capital", "upper", "match", "no_match", *LANGUAGES})
DATA = files("bot.matching") / "data"
WORD = re.compile(r"\w+")


def load_entities() -> list[dict[str, Any]]:
    table = tomllib.loads(DATA.joinpath("entities.toml").read_text(encoding="utf-8"))
    assert set(table) == {"entity"}, "entities.toml holds only [[entity]] tables"
    entities = table["entity"]
    assert isinstance(entities, list)
    return entities


def load_countries() -> dict[str, dict[str, list[str]]]:
    countries: dict[str, dict[str, list[str]]] = json.loads(
        DATA.joinpath("countries.json").read_text(encoding="utf-8")
    )
    return countries


ENTITIES = load_entities()
COUNTRIES = load_countries()


def entry_id(entry: dict[str, Any]) -> str:
    return str(entry.get("id", "?"))


def names_of(entry: dict[str, Any]) -> list[str]:
    return [name for language in LANGUAGES for name in entry.get(language, [])]


def words(text: str) -> list[str]:
    return WORD.findall(text)


def contains_words(text: str, name: str, exact: bool) -> bool:
    """Say whether the name's words appear in the text, adjacent, as whole words."""
    wanted = words(name)
    found = words(text)
    if not exact:
        wanted = [word.casefold() for word in wanted]
        found = [word.casefold() for word in found]
    width = len(wanted)
    return any(found[i : i + width] == wanted for i in range(len(found) - width + 1))


def test_the_table_has_entries_with_unique_ids() -> None:
    ids = [entry_id(entry) for entry in ENTITIES]
    assert len(ids) >= 25
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("entry", ENTITIES, ids=entry_id)
def test_an_entry_has_only_known_keys(entry: dict[str, Any]) -> None:
    assert set(entry) <= ENTRY_KEYS, set(entry) - ENTRY_KEYS
    assert {"id", "match"} <= set(entry)
    assert any(language in entry for language in LANGUAGES), "an entry names something"


@pytest.mark.parametrize("entry", ENTITIES, ids=entry_id)
def test_an_id_is_lower_case_or_a_cldr_country(entry: dict[str, Any]) -> None:
    ident = entry["id"]
    assert isinstance(ident, str)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", ident) or ident in COUNTRIES, ident


@pytest.mark.parametrize("entry", ENTITIES, ids=entry_id)
def test_names_are_non_empty_stripped_and_listed_once(entry: dict[str, Any]) -> None:
    for language in LANGUAGES:
        names = entry.get(language, [])
        assert isinstance(names, list)
        assert language not in entry or names, f"{language}: an empty list"
        for name in names:
            assert isinstance(name, str)
            assert name and name == name.strip(), f"{language}: {name!r}"
            assert "  " not in name and words(name), f"{language}: {name!r}"
        assert len(names) == len(set(names)), f"{language}: a name listed twice"


@pytest.mark.parametrize("entry", ENTITIES, ids=entry_id)
def test_capital_and_upper_name_the_entrys_names(entry: dict[str, Any]) -> None:
    names = set(names_of(entry))
    capital = entry.get("capital", [])
    upper = entry.get("upper", [])
    assert isinstance(capital, list) and isinstance(upper, list)
    for name in capital:
        assert name in names, f"capital: {name!r} is not one of the names"
        assert name[0].isupper(), f"capital: {name!r} does not start with a capital"
    for name in upper:
        assert name in names, f"upper: {name!r} is not one of the names"
        assert name == name.upper(), f"upper: {name!r} is not written in capitals"
    assert not set(capital) & set(upper), "a name is either capital or upper, not both"


@pytest.mark.parametrize("entry", ENTITIES, ids=entry_id)
def test_sentences_are_language_and_text_pairs(entry: dict[str, Any]) -> None:
    for key in ("match", "no_match"):
        sentences = entry.get(key, [])
        assert isinstance(sentences, list)
        for sentence in sentences:
            assert isinstance(sentence, list) and len(sentence) == 2, f"{key}: {sentence!r}"
            language, text = sentence
            assert language in LANGUAGES, f"{key}: {language!r} is not one of {LANGUAGES}"
            assert isinstance(text, str) and text and text == text.strip(), f"{key}: {text!r}"


@pytest.mark.parametrize("entry", ENTITIES, ids=entry_id)
def test_match_sentences_cover_two_of_the_entrys_languages(entry: dict[str, Any]) -> None:
    languages = {language for language, _ in entry["match"]}
    assert len(languages) >= 2, "match needs stories in at least two languages"
    assert languages <= {language for language in LANGUAGES if language in entry}, (
        "a match story is in a language the entry names"
    )


@pytest.mark.parametrize("entry", ENTITIES, ids=entry_id)
def test_no_match_sentences_do_not_spell_out_a_name(entry: dict[str, Any]) -> None:
    """A trap sentence that literally contains a name would be a contradiction in the data."""
    restricted = {*entry.get("capital", []), *entry.get("upper", [])}
    for language, text in entry.get("no_match", []):
        for name in names_of(entry):
            assert not contains_words(text, name, exact=name in restricted), (
                f"no_match [{language}] {text!r} contains {name!r}"
            )


def test_no_name_belongs_to_two_entries() -> None:
    owner: dict[str, str] = {}
    for entry in ENTITIES:
        for name in set(names_of(entry)):
            key = name.casefold()
            assert owner.setdefault(key, entry["id"]) == entry["id"], (
                f"{name!r} is in {owner[key]!r} and {entry['id']!r}"
            )


def test_no_entry_takes_another_countrys_cldr_name() -> None:
    country_of: dict[str, set[str]] = {}
    for code, by_language in COUNTRIES.items():
        for names in by_language.values():
            for name in names:
                country_of.setdefault(name.casefold(), set()).add(code)
    for entry in ENTITIES:
        for name in names_of(entry):
            others = country_of.get(name.casefold(), set()) - {entry["id"]}
            assert not others, f"{entry['id']!r} lists {name!r}, CLDR's name of {others}"


def test_countries_are_keyed_by_two_capital_letters_with_every_language() -> None:
    assert len(COUNTRIES) > 240
    for code, by_language in COUNTRIES.items():
        assert re.fullmatch(r"[A-Z]{2}", code), code
        assert set(by_language) == set(LANGUAGES), code
        for language, names in by_language.items():
            assert names, f"{code} {language}"
            for name in names:
                assert isinstance(name, str) and name and name == name.strip(), code


def test_countries_skip_regions_unions_and_placeholders() -> None:
    for code in ("ZZ", "XA", "XB", "EU", "EZ", "UN", "QO"):
        assert code not in COUNTRIES
    assert "XK" in COUNTRIES  # Kosovo: a user-assigned code for a real territory


def test_countries_json_is_written_in_its_canonical_form() -> None:
    text = DATA.joinpath("countries.json").read_text(encoding="utf-8")
    canonical = json.dumps(COUNTRIES, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    assert text == canonical, "regenerate with: python scripts/countries_from_cldr.py"


def test_ukraine_has_its_names_in_the_eight_languages() -> None:
    assert COUNTRIES["UA"] == {
        "en": ["Ukraine"],
        "uk": ["Україна"],
        "ru": ["Украина"],
        "de": ["Ukraine"],
        "fr": ["Ukraine"],
        "es": ["Ucrania"],
        "it": ["Ucraina"],
        "pt": ["Ucrânia"],
    }


@pytest.mark.parametrize(
    ("code", "language", "name"),
    [
        ("RU", "en", "Russia"),
        ("RU", "uk", "Росія"),
        ("RU", "ru", "Россия"),
        ("RU", "de", "Russland"),
        ("RU", "fr", "Russie"),
        ("DE", "en", "Germany"),
        ("DE", "uk", "Німеччина"),
        ("DE", "ru", "Германия"),
        ("DE", "de", "Deutschland"),
        ("DE", "it", "Germania"),
        ("US", "en", "United States"),
        ("US", "fr", "États-Unis"),
        ("US", "es", "Estados Unidos"),
        ("GB", "en", "United Kingdom"),
        ("GB", "de", "Vereinigtes Königreich"),
        ("GB", "pt", "Reino Unido"),
        ("FR", "en", "France"),
        ("FR", "uk", "Франція"),
        ("FR", "de", "Frankreich"),
        ("FR", "pt", "França"),
    ],
)
def test_well_known_countries_have_their_cldr_names(code: str, language: str, name: str) -> None:
    assert name in COUNTRIES[code][language]


@pytest.mark.parametrize(
    ("code", "language", "name"),
    [
        ("BA", "en", "Bosnia and Herzegovina"),
        ("LC", "en", "Saint Lucia"),
        ("CK", "ru", "острова Кука"),
    ],
)
def test_cldr_abbreviations_are_also_spelled_out(code: str, language: str, name: str) -> None:
    assert name in COUNTRIES[code][language]
