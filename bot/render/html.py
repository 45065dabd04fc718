"""Telegram HTML basics: escaping, lengths as Telegram counts them, cutting to fit.

Every text the bot sends goes through these: alerts and digests (bot.render.alerts) and
replies (split_message, used by handlers/reply.py).
"""

import re
from html.parser import HTMLParser

from bot.render.html_split import split_line

# Telegram counts a message's length after entity parsing, in UTF-16 code units.
TELEGRAM_TEXT_LIMIT = 4096
ELLIPSIS = "…"
# Only the four named entities Telegram knows are produced; a single quote needs no
# escaping because attributes are always double-quoted.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_LAST_SPACE = re.compile(r"\s\S*$")


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


def split_message(html: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split a long reply at line breaks into messages Telegram accepts.

    Every tag must open and close on one line (true of every reply the bot builds), so any
    line break is a safe place to cut. A single line longer than a message is cut within
    the line (bot.render.html_split), each full piece a message of its own.
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
