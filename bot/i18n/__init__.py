"""Interface languages: the message catalogue every text a person reads comes from.

Code never spells user-facing prose inline: it asks `t("msgid", **params)` or
`tn("singular", "plural", n, **params)` (gettext, via Babel) and the English source text is
the msgid. Messages are `str.format` templates, so literal braces are doubled. The catalogue
of each locale (`SUPPORTED_LOCALES`: en, uk, ru) is `locale/<locale>/LC_MESSAGES/messages.po`,
compiled in memory on first use (no build step, no .mo in the tree). `tests/test_catalogue.py`
keeps code and catalogues in step: add a `t(...)` call and its entries together.

`t`, `tn` and `translator()` speak the current locale: a ContextVar that `use_locale(locale)`
sets for a block (the update processor sets the chat's for each update, the delivery
renderer the recipient's for each message), English outside any. `locale_for` maps a
Telegram language_code or a stored chat language to a supported locale.
"""

from bot.i18n.catalogue import (
    LOCALE_DIR,
    N_,
    ReadableError,
    Translator,
    t,
    tn,
    translator,
)
from bot.i18n.locales import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    current_locale,
    language_name,
    locale_for,
    use_locale,
)

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALE_DIR",
    "N_",
    "SUPPORTED_LOCALES",
    "ReadableError",
    "Translator",
    "current_locale",
    "language_name",
    "locale_for",
    "t",
    "tn",
    "translator",
    "use_locale",
]
