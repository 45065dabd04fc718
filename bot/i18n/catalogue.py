"""Load a locale's gettext catalogue and read messages, plurals and dates from it."""

import functools
import gettext
import io
from datetime import datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n.locales import current_locale

DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"


def po_path(locale: str) -> Path:
    """Return where the catalogue of locale lives."""
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def compiled(locale: str) -> gettext.GNUTranslations:
    """Compile locale's .po into memory once; GNUTranslations reads the .mo it would be."""
    with po_path(locale).open("rb") as file:
        catalog = read_po(file, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    # Fuzzy entries are drafts: gettext falls back to the English msgid for them.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Translator:
    """Messages, plurals and dates in one locale."""

    __slots__ = ("_babel_locale", "_translations", "locale")

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._translations = compiled(locale)
        self._babel_locale = Locale.parse(locale)

    def t(self, msgid: str, /, **params: object) -> str:
        """Return the message for msgid with its {placeholders} filled from params."""
        return self._translations.gettext(msgid).format(**params)

    def tn(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """Return the form of the message that goes with n; {n} is n itself."""
        return self._translations.ngettext(singular, plural, n).format(n=n, **params)

    def datetime(self, moment: datetime, pattern: str) -> str:
        """Return moment, as it is (no time zone conversion), in a CLDR date pattern."""
        return format_datetime(moment, pattern, locale=self._babel_locale)


def translator(locale: str | None = None) -> Translator:
    """Return the translator of locale, or of the current one (see use_locale); one per
    locale, kept for the process."""
    return _translator(locale or current_locale())


@functools.cache
def _translator(locale: str) -> Translator:
    return Translator(locale)


def N_(msgid: str) -> str:
    """Mark msgid for the catalogue where it is translated later (gettext_noop)."""
    return msgid


def t(msgid: str, /, **params: object) -> str:
    """Return the message for msgid in the current locale, placeholders filled."""
    return translator().t(msgid, **params)


def tn(singular: str, plural: str, n: int, /, **params: object) -> str:
    """Return the current locale's form of the message that goes with n ({n} is n)."""
    return translator().tn(singular, plural, n, **params)


class ReadableError(Exception):
    """An error whose message is for a person: a catalogue msgid and its parameters,
    rendered in the current locale when shown (str()), not when raised."""

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        """The reason in the current locale."""
        return t(self.msgid, **self.params)
