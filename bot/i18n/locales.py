"""Which interface languages exist, which one a Telegram language_code gets, and which one
the code running now speaks (a ContextVar, so each update and each send has its own)."""

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar

from babel import Locale

DEFAULT_LOCALE = "en"
# Every locale has a catalogue in locale/<locale>/LC_MESSAGES/messages.po.
SUPPORTED_LOCALES = ("en", "uk", "ru")
# Language tags that get another supported locale than their own (Telegram sends IETF tags
# such as "uk", "ru-RU"; a few clients send the country code "ua" for Ukrainian). Belarusian
# and Kazakh users nearly all read Russian, which serves them better than English; /language
# switches at any time.
ALIASES = {"ua": "uk", "be": "ru", "kk": "ru"}

_current: ContextVar[str] = ContextVar("newshound_locale", default=DEFAULT_LOCALE)


@functools.lru_cache(maxsize=256)
def locale_for(language_code: str | None) -> str:
    """Return the supported locale for an IETF language tag; unknown or None: English."""
    if not language_code:
        return DEFAULT_LOCALE
    language = language_code.strip().replace("_", "-").split("-", 1)[0].casefold()
    language = ALIASES.get(language, language)
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def current_locale() -> str:
    """Return the locale the code running now speaks (English outside any use_locale)."""
    return _current.get()


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Speak locale inside the block (this task and the tasks it starts), then as before."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"no catalogue for locale {locale!r}; supported: {SUPPORTED_LOCALES}")
    token = _current.set(locale)
    try:
        yield locale
    finally:
        _current.reset(token)


@functools.cache
def language_name(locale: str, *, capitalised: bool = False) -> str:
    """Return the language's name in itself (CLDR), as written mid-sentence ("English",
    "українська"), or capitalised as on a button ("Українська")."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:] if capitalised else name
