"""Interface languages: the message catalogue every text a person reads comes from.

Code never spells user-facing prose inline: it asks `t("msgid", **params)` or
`tn("singular", "plural", n, **params)` (gettext, via Babel) and the English source text is
the msgid. Messages are `str.format` templates, so literal braces are doubled. The catalogue
of each locale is `locale/<locale>/LC_MESSAGES/messages.po`, compiled in memory on first use
(no build step, no .mo in the tree). `tests/test_catalogue.py` keeps code and catalogue in
step: add a `t(...)` call and its entry together. Only English ships today; a chat's
language (`translator("uk")`) comes with per-chat settings.
"""

from bot.i18n.catalogue import (
    DEFAULT_LOCALE,
    LOCALE_DIR,
    N_,
    Translator,
    t,
    tn,
    translator,
)

__all__ = ["DEFAULT_LOCALE", "LOCALE_DIR", "N_", "Translator", "t", "tn", "translator"]
