"""The Ukrainian and Russian catalogues translate every English message, and keep its machinery.

A translation may say things its own way, but what code and Telegram read must survive it: the
same {placeholders}, the same HTML tags in the same order, the same commands and query examples,
three plural forms that the compiled catalogue picks by the locale's rule. tests/test_catalogue.py
keeps every catalogue in step with the code; this file checks the translations against English.
"""

import functools
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, translator
from bot.i18n.catalogue import compiled

LOCALES = ("uk", "ru")
ENGLISH = LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)
# Messages with words that stay as they are in every language (checked, not guessed).
SAME_IN_EVERY_LANGUAGE = frozenset(
    {
        "HH:mm:ss",  # a CLDR time pattern; Ukrainian and Russian write clocks the same way
        "EEE d MMM, HH:mm",  # a CLDR pattern (a mute's end): CLDR spells the day and month
        'Ukraine, "Joe Biden" -football',  # a query example the person types as it is
    }
)
# Query syntax examples: a translation explains them but keeps each one exactly as typed.
QUERY_EXAMPLES = (
    "Ukraine",
    "NATO",
    "Putin Xi",
    '"Joe Biden"',
    "Kyiv OR Kiev",
    "Ukrain*",
    "-football",
)
# Letters only one of the two languages has: a Ukrainian text with "ы" is Russian, and so on.
FOREIGN_LETTERS = {"uk": set("ыэъёЫЭЪЁ"), "ru": set("іїєґІЇЄҐ")}
_TAG = re.compile(r"</?[a-z]+(?:\s[^>]*)?>")
_ENTITY = re.compile(r"&#?\w+;")
_COMMAND = re.compile(r"(?<![\w/:.])/[a-z_]+")
_CODE = re.compile(r"<code>.*?</code>", re.DOTALL)
_WORD = re.compile(r"[^\W\d_]{2,}")
# A word spelt with Latin and Cyrillic letters together (a Latin i or c among Cyrillic ones)
# looks right and is wrong: search, spelling and screen readers all trip over it.
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_MIXED_SCRIPT = re.compile(r"\b(?=\w*[a-zA-Z])(?=\w*[\u0400-\u04ff])\w+\b")

Key = str | tuple[str, str]


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _key(message: Message) -> Key:
    return message.id if isinstance(message.id, str) else (message.id[0], message.id[1])


def _messages(path: Path) -> dict[Key, Message]:
    return {_key(message): message for message in _read(path) if message.id}


@functools.cache
def _translated(locale: str) -> dict[Key, Message]:
    return _messages(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po")


def _forms(message: Message) -> tuple[str, ...]:
    string = message.string
    return (string,) if isinstance(string, str) else tuple(string or ())


def _ids(key: Key) -> tuple[str, ...]:
    return (key,) if isinstance(key, str) else key


def _fields(text: str) -> set[str]:
    """Return the {placeholders} of a message, with conversion and format spec."""
    return {
        f"{name}!{conversion or ''}:{spec or ''}"
        for _, name, spec, conversion in Formatter().parse(text)
        if name is not None
    }


def _literal(text: str) -> str:
    """Return the text of a message without its {placeholders}."""
    return "".join(literal for literal, _, _, _ in Formatter().parse(text))


def _has_prose(text: str) -> bool:
    """Tell whether a message has words to translate outside markup, code and commands."""
    visible = _COMMAND.sub(" ", _ENTITY.sub(" ", _TAG.sub(" ", _CODE.sub(" ", _literal(text)))))
    return _WORD.search(visible) is not None


ENGLISH_MESSAGES = _messages(ENGLISH)
TRANSLATED = [(locale, key) for locale in LOCALES for key in ENGLISH_MESSAGES]


def _translation(locale: str, key: Key) -> tuple[str, ...]:
    message = _translated(locale).get(key)
    assert message is not None, f"{locale} lacks {key!r}"
    assert not message.fuzzy, f"{locale} has a fuzzy draft for {key!r}"
    return _forms(message)


def _case_id(case: tuple[str, Key]) -> str:
    locale, key = case
    return f"{locale}:{_ids(key)[0][:40]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_header_names_the_language_and_its_three_plural_forms(locale: str) -> None:
    catalogue = _read(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po")
    assert str(catalogue.locale) == locale
    assert catalogue.num_plurals == 3
    headers = dict(catalogue.mime_headers)
    assert headers["Language"] == locale
    assert headers["Plural-Forms"] == PLURAL_FORMS
    assert compiled(locale).info()["language"] == locale


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogue_has_exactly_the_english_msgids(locale: str) -> None:
    translated = _translated(locale)
    assert set(translated) == set(ENGLISH_MESSAGES)
    for key, message in translated.items():
        assert message.flags == ENGLISH_MESSAGES[key].flags, key


@pytest.mark.parametrize("case", TRANSLATED, ids=_case_id)
def test_every_message_is_translated(case: tuple[str, Key]) -> None:
    locale, key = case
    forms = _translation(locale, key)
    assert len(forms) == (1 if isinstance(key, str) else 3), forms
    assert all(form.strip() for form in forms), forms
    english = _ids(key)
    if key in SAME_IN_EVERY_LANGUAGE or not any(_has_prose(text) for text in english):
        return
    for form in forms:
        assert form not in english, f"{locale} leaves {form!r} in English"
        assert _CYRILLIC.search(_literal(form)), f"{locale} leaves {form!r} in English"
        assert not FOREIGN_LETTERS[locale] & set(form), f"not {locale}: {form!r}"
        assert not _MIXED_SCRIPT.findall(form), form


@pytest.mark.parametrize("case", TRANSLATED, ids=_case_id)
def test_translations_keep_placeholders_tags_commands_and_query_examples(
    case: tuple[str, Key],
) -> None:
    locale, key = case
    source = _ids(key)[-1]  # the plural msgid: the one with {n} wherever English has it
    for form in _translation(locale, key):
        assert _fields(form) == _fields(source), form
        assert _TAG.findall(form) == _TAG.findall(source), form
        assert Counter(_ENTITY.findall(form)) == Counter(_ENTITY.findall(source)), form
        assert Counter(_COMMAND.findall(form)) == Counter(_COMMAND.findall(source)), form
        for example in QUERY_EXAMPLES:
            assert form.count(example) == source.count(example), (example, form)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogue_compiles_and_every_message_formats(locale: str) -> None:
    translations = compiled(locale)
    speaker = translator(locale)
    for key in ENGLISH_MESSAGES:
        forms = _translation(locale, key)
        params = {name.split("!")[0]: 1.5 for name in _fields(_ids(key)[-1])}
        if isinstance(key, str):
            assert translations.gettext(key) == forms[0]
            assert speaker.t(key, **params) == forms[0].format(**params)
            continue
        params.pop("n", None)
        shown = {translations.ngettext(*key, n) for n in range(200)}
        assert shown == set(forms), key
        assert speaker.tn(*key, 21, **params) == forms[0].format(n=21, **params)


SUBSCRIPTIONS = (
    "You have {n} subscription: see them with /list.",
    "You have {n} subscriptions: see them with /list.",
)
ALERTS_SENT = ("{n} alert sent", "{n} alerts sent")
FAILURES = ("⚠️ {n} failure in a row: {error}", "⚠️ {n} failures in a row: {error}")


# n -> the word a native speaker puts after n, for n that pick each of the three forms.
UK_SUBSCRIPTIONS = {1: "підписка", 2: "підписки", 5: "підписок", 11: "підписок", 21: "підписка"}
RU_SUBSCRIPTIONS = {1: "подписка", 2: "подписки", 5: "подписок", 11: "подписок", 21: "подписка"}


@pytest.mark.parametrize(
    ("locale", "msgids", "params", "template", "words"),
    [
        (
            "uk",
            SUBSCRIPTIONS,
            {},
            "У вас {n} {word}. Список: /list.",
            {**UK_SUBSCRIPTIONS, 22: "підписки", 0: "підписок", 12: "підписок", 111: "підписок"},
        ),
        (
            "ru",
            SUBSCRIPTIONS,
            {},
            "У вас {n} {word}. Список: /list.",
            {**RU_SUBSCRIPTIONS, 22: "подписки", 14: "подписок", 104: "подписки"},
        ),
        (
            "uk",
            ALERTS_SENT,
            {},
            "надіслано {n} {word}",
            {1: "сповіщення", 2: "сповіщення", 5: "сповіщень", 11: "сповіщень", 21: "сповіщення"}
            | {22: "сповіщення"},
        ),
        (
            "ru",
            FAILURES,
            {"error": "timeout"},
            "⚠️ {n} {word} подряд: timeout",
            {1: "сбой", 2: "сбоя", 5: "сбоев", 11: "сбоев", 21: "сбой", 22: "сбоя"},
        ),
    ],
    ids=["uk-subscriptions", "ru-subscriptions", "uk-alerts", "ru-failures"],
)
def test_plurals_take_the_form_a_native_speaker_uses(
    locale: str,
    msgids: tuple[str, str],
    params: dict[str, object],
    template: str,
    words: dict[int, str],
) -> None:
    speaker = translator(locale)
    shown = {n: speaker.tn(*msgids, n, **params) for n in words}
    assert shown == {n: template.format(n=n, word=word) for n, word in words.items()}


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("uk", "25 лист. 2026 р., 09:14"),
        ("ru", "25 нояб. 2026 г., 09:14"),
    ],
)
def test_the_date_pattern_is_the_locales_own(locale: str, expected: str) -> None:
    speaker = translator(locale)
    moment = datetime(2026, 11, 25, 9, 14, tzinfo=UTC)
    assert speaker.datetime(moment, speaker.t("d MMM y, HH:mm")) == expected
    assert speaker.datetime(moment, speaker.t("HH:mm:ss")) == "09:14:00"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "Wed 25 Nov, 09:14"), ("uk", "ср, 25 лист., 09:14"), ("ru", "ср, 25 нояб., 09:14")],
)
def test_a_mutes_end_is_shown_in_the_locales_own_words(locale: str, expected: str) -> None:
    speaker = translator(locale)
    moment = datetime(2026, 11, 25, 9, 14, tzinfo=UTC)
    assert speaker.datetime(moment, speaker.t("EEE d MMM, HH:mm")) == expected
