"""Render alerts and digests as Telegram HTML that is always valid and within limits."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlsplit

from bot.i18n import t, tn, translator
from bot.matching.highlight import Span, matched_spans
from bot.render.callbacks import TUNE, Tune, TuneAction
from bot.render.html import ELLIPSIS, TELEGRAM_TEXT_LIMIT, escape, shorten, utf16_len
from bot.render.message import Button, Keyboard, OutgoingMessage
from bot.render.outlets import also_line

META_SEPARATOR = " · "
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


@dataclass(frozen=True, slots=True)
class Alert:
    """What a subscriber is told about one story."""

    title: str
    link: str | None
    source: str
    published: datetime | None
    summary: str | None
    matched: tuple[str, ...]
    # The story from other outlets: (feed title, link), shown as "Also: …" (render.outlets).
    also: tuple[tuple[str, str | None], ...] = ()
    # False: no "Matched" line (a channel's default); the matched words are still bold.
    show_matched: bool = True


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


def format_alert(alert: Alert, *, tz: tzinfo = UTC) -> str:
    """Return the alert as Telegram HTML of at most TELEGRAM_TEXT_LIMIT visible units.

    The title is the link; the words that made the story match stand out in bold, in the
    title and the summary (marks add no visible length).
    """
    also, also_length = also_line(alert.also, _href)
    room = TELEGRAM_TEXT_LIMIT - (also_length + utf16_len("\n\n") if also else 0)
    text = _fit(_alert_text(alert, tz), room)
    title = _marked(text.title, alert.matched)
    if text.href is not None:
        title = f'<a href="{escape(text.href)}">{title}</a>'
    head = "\n".join(line for line in (title, escape(text.meta), escape(text.shown_link)) if line)
    blocks = [head, _marked(text.summary, alert.matched), escape(text.matched), also]
    return "\n\n".join(block for block in blocks if block)


def _marked(text: str, queries: Sequence[str]) -> str:
    """Return text escaped, with the words the queries matched in bold."""
    spans: list[Span] = matched_spans(text, queries) if queries else []
    pieces: list[str] = []
    at = 0
    for start, end in spans:
        pieces.append(escape(text[at:start]))
        pieces.append(f"<b>{escape(text[start:end])}</b>")
        at = end
    pieces.append(escape(text[at:]))
    return "".join(pieces)


def format_alert_plain(alert: Alert, *, tz: tzinfo = UTC) -> str:
    """Return the alert as plain text, link included, for a terminal."""
    text = _alert_text(alert, tz)
    head = "\n".join(line for line in (text.title, text.meta) if line)
    link = _one_line(alert.link or "")
    footer = "\n".join(line for line in (link, text.matched) if line)
    return "\n\n".join(block for block in (head, text.summary, footer) if block)


def format_digest(items: Sequence[tuple[str, str | None]], *, header: str) -> list[str]:
    """Return numbered "title" lines, linked, split into messages that each fit Telegram."""
    return [text for text, _ in digest_pages([(t, link, "") for t, link in items], header)]


def digest_pages(
    items: Sequence[tuple[str, str | None, str]], header: str, *, first_only: bool = False
) -> list[tuple[str, int]]:
    """Return (message, how many items it carries) for numbered "title" lines, linked, under
    a heading for each group (the matched query) when there are several, each message
    within Telegram's limit; items come grouped (title, link, group). first_only: stop at
    the first message (the worker sends one per attempt)."""
    header_text = shorten(_one_line(header), MAX_DIGEST_HEADER_LENGTH)
    headed = len({group for _, _, group in items}) > 1
    pages: list[tuple[str, int]] = []
    lines = [f"<b>{escape(header_text)}</b>"] if header_text else []
    used, carried, group_shown = utf16_len(header_text), 0, None
    for number, (title, link, group) in enumerate(items, start=1):
        prefix = f"{number}. "
        # Room for the header (and a heading) and newlines: an item always fits on its own.
        heads = 2 if headed else 1
        room = TELEGRAM_TEXT_LIMIT - heads * (MAX_DIGEST_HEADER_LENGTH + 1) - utf16_len(prefix)
        shown = shorten(_one_line(title) or _untitled(), room)
        heading = shorten(_one_line(group), MAX_DIGEST_HEADER_LENGTH) if headed else ""
        new_group = bool(heading) and heading != group_shown
        length = utf16_len(prefix + shown) + (utf16_len(heading) + 1 if new_group else 0)
        if lines and used + 1 + length > TELEGRAM_TEXT_LIMIT:
            pages.append(("\n".join(lines), carried))
            if first_only:
                return pages
            lines, used, carried, group_shown = [], -1, 0, None
            new_group = bool(heading)
            length = utf16_len(prefix + shown) + (utf16_len(heading) + 1 if new_group else 0)
        if new_group:
            lines.append(f"<i>{escape(heading)}</i>")
            group_shown = heading
        lines.append(prefix + _anchor(shown, _href(link)))
        used += 1 + length
        carried += 1
    if lines:
        pages.append(("\n".join(lines), carried))
    return pages


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
        title=_one_line(alert.title) or _untitled(),
        href=href,
        meta=_meta_line(alert.source, alert.published, tz),
        shown_link=shown_link,
        summary=(alert.summary or "").strip(),
        matched=_matched_line(alert.matched) if alert.show_matched else "",
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
    # What "Matched: {queries}" shows before the queries, in the current locale.
    label = t("Matched: {queries}", queries="")
    if room > utf16_len(label + ELLIPSIS):
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


def _untitled() -> str:
    return t("(no title)")


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


def alert_message(
    alert: Alert, *, tz: tzinfo = UTC, story_id: int | None = None
) -> OutgoingMessage:
    """Return the alert as a message to send, with the tuning buttons when it names its
    story (alerts to private chats: in a group they would act for everyone)."""
    keyboard = alert_keyboard(story_id) if story_id is not None else ()
    return OutgoingMessage(format_alert(alert, tz=tz), keyboard)


def alert_keyboard(story_id: int) -> Keyboard:
    """Return an alert's own buttons: mute or stop the query it matched, hide its source."""
    return (
        (
            Button(t("🔕 Mute"), TUNE.encode(Tune(TuneAction.MUTE_MENU, story_id))),
            Button(t("⛔ Stop"), TUNE.encode(Tune(TuneAction.STOP_MENU, story_id))),
            Button(t("🙈 Hide source"), TUNE.encode(Tune(TuneAction.HIDE, story_id))),
        ),
    )


def digest_messages(
    items: Sequence[tuple[str, str | None]], *, header: str
) -> list[OutgoingMessage]:
    """Return the digest (see format_digest) as messages to send, in order."""
    return [OutgoingMessage(text) for text in format_digest(items, header=header)]
