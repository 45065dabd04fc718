"""Render alerts and digests as Telegram HTML that is always valid and within limits."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from html.parser import HTMLParser
from urllib.parse import urlsplit

from bot.html_split import split_line
from bot.i18n import t, tn, translator

# Telegram counts a message's length after entity parsing, in UTF-16 code units.
TELEGRAM_TEXT_LIMIT = 4096
ELLIPSIS = "…"
UNTITLED = t("(no title)")
META_SEPARATOR = " · "
# What "Matched: {queries}" shows before the queries; _fit needs its length.
MATCHED_LABEL = t("Matched: {queries}", queries="")
MATCH_SEPARATOR = ", "
# A feed's name or a subscription longer than this is junk; capping them up front keeps
# the fixed part of an alert small, so shortening the summary, the matched list and the
# title is always enough to fit.
MAX_SOURCE_LENGTH = 200
MAX_MATCH_LENGTH = 64
MAX_MATCHES_SHOWN = 10
# A link that cannot be an href is shown as text; beyond this length it is useless to read.
MAX_SHOWN_LINK_LENGTH = 500
# Longer hrefs are not linked: they are almost certainly broken, and they add to the
# request size even though they do not count towards the visible length.
MAX_HREF_LENGTH = 2048
MAX_DIGEST_HEADER_LENGTH = 256
# Below this many units a summary is not worth keeping: drop it rather than show "A…".
MIN_SUMMARY_LENGTH = 40
LINKABLE_SCHEMES = frozenset({"http", "https"})
# Only the four named entities Telegram knows are produced; a single quote needs no
# escaping because attributes are always double-quoted.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_LAST_SPACE = re.compile(r"\s\S*$")


@dataclass(frozen=True, slots=True)
class Alert:
    """What a subscriber is told about one story."""

    title: str
    link: str | None
    source: str
    published: datetime | None
    summary: str | None
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _AlertText:
    """An alert's visible pieces in plain text, before escaping."""

    title: str
    href: str | None
    meta: str
    shown_link: str
    summary: str
    matched: str

    def blocks(self) -> list[str]:
        """Return the non-empty paragraphs, to be joined by blank lines."""
        head = "\n".join(line for line in (self.title, self.meta, self.shown_link) if line)
        return [block for block in (head, self.summary, self.matched) if block]

    def length(self) -> int:
        return utf16_len("\n\n".join(self.blocks()))


def utf16_len(text: str) -> int:
    """Return the length of text in UTF-16 code units, as Telegram counts it."""
    # surrogatepass: a lone surrogate from a broken feed counts as one unit, not a crash.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape(text: str) -> str:
    """Escape text for Telegram HTML, in text and in double-quoted attribute values."""
    return text.translate(_ESCAPES)


def shorten(text: str, limit: int) -> str:
    """Return text cut to at most limit UTF-16 units, at a word boundary, ending in "…"."""
    if utf16_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = _prefix_within(text, limit - utf16_len(ELLIPSIS))
    # Prefer the last word boundary unless it throws away more than half of what fits
    # (one enormous "word", such as a URL, would otherwise leave almost nothing).
    boundary = _LAST_SPACE.search(cut.rstrip())
    if boundary and boundary.start() > len(cut) // 2:
        cut = cut[: boundary.start()]
    return cut.rstrip() + ELLIPSIS


def _prefix_within(text: str, units: int) -> str:
    """Return the longest prefix of text that is at most units UTF-16 units long."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


def visible_length(html: str) -> int:
    """Return the UTF-16 length of the text Telegram shows for this HTML."""
    extractor = _TextCollector()
    extractor.feed(html)
    extractor.close()
    return utf16_len("".join(extractor.parts))


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def format_alert(alert: Alert, *, tz: tzinfo = UTC) -> str:
    """Return the alert as Telegram HTML of at most TELEGRAM_TEXT_LIMIT visible units."""
    text = _fit(_alert_text(alert, tz), TELEGRAM_TEXT_LIMIT)
    title = f"<b>{_anchor(text.title, text.href)}</b>"
    head = "\n".join(line for line in (title, escape(text.meta), escape(text.shown_link)) if line)
    blocks = [head, escape(text.summary), escape(text.matched)]
    return "\n\n".join(block for block in blocks if block)


def format_alert_plain(alert: Alert, *, tz: tzinfo = UTC) -> str:
    """Return the alert as plain text, link included, for a terminal."""
    text = _alert_text(alert, tz)
    head = "\n".join(line for line in (text.title, text.meta) if line)
    link = _one_line(alert.link or "")
    footer = "\n".join(line for line in (link, text.matched) if line)
    return "\n\n".join(block for block in (head, text.summary, footer) if block)


def format_digest(items: Sequence[tuple[str, str | None]], *, header: str) -> list[str]:
    """Return numbered "title" lines, linked, split into messages that each fit Telegram."""
    header_text = shorten(_one_line(header), MAX_DIGEST_HEADER_LENGTH)
    messages: list[str] = []
    lines = [f"<b>{escape(header_text)}</b>"] if header_text else []
    used = utf16_len(header_text)
    for number, (title, link) in enumerate(items, start=1):
        prefix = f"{number}. "
        # Room for the header and a newline, so an item always fits in a message of its own.
        room = TELEGRAM_TEXT_LIMIT - MAX_DIGEST_HEADER_LENGTH - 1 - utf16_len(prefix)
        shown = shorten(_one_line(title) or UNTITLED, room)
        line = prefix + _anchor(shown, _href(link))
        length = utf16_len(prefix + shown)
        separator = 1 if lines else 0
        if lines and used + separator + length > TELEGRAM_TEXT_LIMIT:
            messages.append("\n".join(lines))
            lines, used, separator = [], 0, 0
        lines.append(line)
        used += separator + length
    if lines:
        messages.append("\n".join(lines))
    return messages


def split_message(html: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split a long reply at line breaks into messages Telegram accepts.

    Every tag must open and close on one line (true of every reply the bot builds), so any
    line break is a safe place to cut. A single line longer than a message is cut within
    the line (bot.html_split), each full piece a message of its own.
    """
    messages: list[str] = []
    lines: list[str] = []
    used = 0
    for whole_line in html.split("\n"):
        line = whole_line
        length = visible_length(line)
        if length > limit:
            *full, line = split_line(line, limit)
            if lines:
                messages.append("\n".join(lines).strip("\n"))
                lines, used = [], 0
            messages += full
            length = visible_length(line)
        if lines and used + 1 + length > limit:
            messages.append("\n".join(lines).strip("\n"))
            lines, used = [], 0
        used += length + (1 if lines else 0)
        lines.append(line)
    messages.append("\n".join(lines).strip("\n"))
    return [message for message in messages if message] or [html]


def format_time(moment: datetime, tz: tzinfo = UTC) -> str:
    """Return moment as "25 Nov 2026, 09:14 UTC" in tz; a naive moment is taken as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        local = aware.astimezone(tz)
    except OverflowError:  # a junk date at the edge of the calendar: show it as given
        local = aware
    zone = local.tzname() or local.strftime("%z")
    # Babel spells the month in the catalogue's locale, whatever the process locale is.
    # Translators: a CLDR date pattern, as in "25 Nov 2026, 09:14" (the zone follows).
    shown = translator().datetime(local, t("d MMM y, HH:mm"))
    return t("{date_time} {zone}", date_time=shown, zone=zone)


def _alert_text(alert: Alert, tz: tzinfo) -> _AlertText:
    """Return the alert's pieces in plain text, with junk-sized fields capped."""
    href = _href(alert.link)
    link = (alert.link or "").strip()
    shown_link = "" if href or len(link) > MAX_SHOWN_LINK_LENGTH else _one_line(link)
    return _AlertText(
        title=_one_line(alert.title) or UNTITLED,
        href=href,
        meta=_meta_line(alert.source, alert.published, tz),
        shown_link=shown_link,
        summary=(alert.summary or "").strip(),
        matched=_matched_line(alert.matched),
    )


def _fit(text: _AlertText, limit: int) -> _AlertText:
    """Shorten the summary, then the matched list, then the title, until text fits."""
    if text.length() <= limit:
        return text
    without_summary = replace(text, summary="")
    room = limit - without_summary.length() - utf16_len("\n\n")
    if room >= MIN_SUMMARY_LENGTH:
        return replace(text, summary=shorten(text.summary, room))
    text = without_summary
    if text.length() <= limit:
        return text
    without_matched = replace(text, matched="")
    room = limit - without_matched.length() - utf16_len("\n\n")
    if room > utf16_len(MATCHED_LABEL + ELLIPSIS):
        return replace(text, matched=shorten(text.matched, room))
    text = without_matched
    room = limit - (text.length() - utf16_len(text.title))
    return replace(text, title=shorten(text.title, room))


def _meta_line(source: str, published: datetime | None, tz: tzinfo) -> str:
    """Return "Source · 25 Nov 2026, 09:14 UTC", leaving out whichever part is unknown."""
    parts = [shorten(_one_line(source), MAX_SOURCE_LENGTH)]
    if published is not None:
        parts.append(format_time(published, tz))
    return META_SEPARATOR.join(part for part in parts if part)


def _matched_line(matched: Sequence[str]) -> str:
    """Return "Matched: a, b", with long names cut and a long list summarised."""
    names = [shorten(_one_line(name), MAX_MATCH_LENGTH) for name in matched]
    names = [name for name in names if name]
    if not names:
        return ""
    shown = names[:MAX_MATCHES_SHOWN]
    hidden = len(names) - len(shown)
    queries = MATCH_SEPARATOR.join(shown)
    if hidden:
        queries = tn("{queries} and {n} more", "{queries} and {n} more", hidden, queries=queries)
    return t("Matched: {queries}", queries=queries)


def _anchor(text: str, href: str | None) -> str:
    """Return escaped text, linked to href when there is one."""
    if href is None:
        return escape(text)
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def _href(link: str | None) -> str | None:
    """Return link if Telegram can use it as an href: http(s), one piece, not absurdly long."""
    if not link:
        return None
    link = link.strip()
    if len(link) > MAX_HREF_LENGTH or any(char.isspace() or ord(char) < 0x20 for char in link):
        return None
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINKABLE_SCHEMES or not parts.netloc:
        return None
    return link


def _one_line(text: str) -> str:
    """Return text with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())
