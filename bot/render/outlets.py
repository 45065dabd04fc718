"""An alert's "Also:" line: the other outlets that ran its story, each linked to its copy.

"Also: Reuters, BBC" in the current locale, at most MAX_OUTLETS_SHOWN names (then "and N
more"), each cut to MAX_OUTLET_LENGTH: the line stays small, so the alert's own text (fitted
to what is left of Telegram's limit) always has room. An outlet is its feed's title, or the
host of its link when the feed has none.
"""

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from bot.i18n import t, tn
from bot.render.html import escape, shorten, utf16_len

MAX_OUTLETS_SHOWN = 5
MAX_OUTLET_LENGTH = 64
OUTLET_SEPARATOR = ", "


def also_line(
    outlets: Sequence[tuple[str, str | None]], href: Callable[[str | None], str | None]
) -> tuple[str, int]:
    """Return the line as Telegram HTML and its visible length (0 and "" without outlets).

    `outlets` are (feed title, link) pairs; `href(link)` gives a link Telegram can use as an
    href, or None (then the name is shown unlinked).
    """
    named = [(name, link) for title, link in outlets if (name := _name(title, link))]
    if not named:
        return "", 0
    shown = named[:MAX_OUTLETS_SHOWN]
    anchors: list[str] = []
    for name, link in shown:
        target = href(link)
        anchors.append(
            escape(name) if target is None else f'<a href="{escape(target)}">{escape(name)}</a>'
        )
    names = OUTLET_SEPARATOR.join(anchors)
    plain = OUTLET_SEPARATOR.join(name for name, _ in shown)
    hidden = len(named) - len(shown)
    if hidden:
        names = tn("{outlets} and {n} more", "{outlets} and {n} more", hidden, outlets=names)
        plain = tn("{outlets} and {n} more", "{outlets} and {n} more", hidden, outlets=plain)
    return t("Also: {outlets}", outlets=names), utf16_len(t("Also: {outlets}", outlets=plain))


def _name(title: str, link: str | None) -> str:
    name = " ".join(title.split())
    if not name and link:
        try:
            name = urlsplit(link.strip()).hostname or ""
        except ValueError:
            name = ""
    return shorten(name, MAX_OUTLET_LENGTH) if name else ""
