"""Outbox rows as the messages that carry them, in the recipient chat's language.

The story itself (title, summary, source, link) is shown as its feed wrote it; the labels
around it (the matched line, the date, the digest header) follow the chat's language,
which the row brings along (OutboxItem.chat_language), so rendering reads nothing more.
"""

import functools
from dataclasses import replace

from bot.i18n import current_locale, locale_for, tn, use_locale
from bot.render.alerts import Alert, alert_message, digest_messages, digest_pages
from bot.render.message import OutgoingMessage
from bot.storage import ChatType, OutboxItem


def render_all(rows: list[OutboxItem]) -> list[OutgoingMessage]:
    """Return the messages that carry these rows: one alert, or a digest split to fit (sent
    to the first row's forum topic), in the language of the rows' chat."""
    with use_locale(locale_for(rows[0].chat_language)):
        if rows[0].kind != "digest":
            return [render(rows[0])]
        header = _more_header(rows[0], len(rows))
        messages = digest_messages([(row.title, row.link) for row in rows], header=header)
    return [replace(message, thread_id=rows[0].thread_id) for message in messages]


def first_digest_message(rows: list[OutboxItem]) -> tuple[OutgoingMessage, list[OutboxItem]]:
    """Return the first message of the digest of these rows (a chat's due digest lines, the
    one picked first), grouped by matched query with the first row's group first, and the
    rows it carries: the first row always among them. A digest goes to one forum topic, the
    first row's: lines for other topics wait for a digest of their own."""
    first = rows[0]
    rows = [row for row in rows if row.thread_id == first.thread_id]

    def place(row: OutboxItem) -> tuple[bool, bool, str, int]:
        group = _group(row)
        return (row is not first, group != _group(first), group.casefold(), row.id)

    ordered = sorted(rows, key=place)
    with use_locale(locale_for(first.chat_language)):
        if any(row.attempts == 0 and row.next_attempt_at > 0 for row in ordered):
            header = _scheduled_header(first, len(ordered))
        else:
            header = _more_header(first, len(ordered))
        items = [(row.title, row.link, _group(row)) for row in ordered]
        text, carried = digest_pages(items, header, first_only=True)[0]
    return OutgoingMessage(text, thread_id=first.thread_id), ordered[:carried]


def _more_header(row: OutboxItem, n: int) -> str:
    """A burst digest's heading: a channel's readers did not subscribe, its admin did."""
    if row.chat_type is ChatType.CHANNEL:
        return tn("…and {n} more new story:", "…and {n} more new stories:", n)
    return tn(
        "…and {n} more new story matching your subscriptions:",
        "…and {n} more new stories matching your subscriptions:",
        n,
    )


def _scheduled_header(row: OutboxItem, n: int) -> str:
    """A scheduled digest's heading, for a channel's readers as for a subscriber."""
    if row.chat_type is ChatType.CHANNEL:
        return tn("Digest: {n} new story:", "Digest: {n} new stories:", n)
    return tn(
        "Your digest: {n} new story matching your subscriptions:",
        "Your digest: {n} new stories matching your subscriptions:",
        n,
    )


def _group(row: OutboxItem) -> str:
    return row.matched[0] if row.matched else ""


def render(item: OutboxItem) -> OutgoingMessage:
    """Return the message of an outbox row, to the forum topic it was queued for, in the
    current locale (render_all sets the chat's)."""
    if item.kind == "broadcast":
        return OutgoingMessage(item.text or "", thread_id=item.thread_id)
    # Tuning buttons in private chats and groups (where only admins may press them), not in
    # channels, whose readers cannot press them.
    tunable = item.kind == "alert" and item.chat_type is not ChatType.CHANNEL
    alert = Alert(
        title=item.title,
        link=item.link,
        source=item.source,
        published=item.published,
        summary=item.summary,
        matched=item.matched,
        also=item.also,
        show_matched=item.show_matched,
    )
    message = _alert_message(alert, item.story_id if tunable else None, current_locale())
    return replace(message, thread_id=item.thread_id)


# Fan-out on read sends one story to every chat whose queries it matched: rendered once per
# language, queries matched and buttons, not once per chat (its bold marks alone analyse
# the title and summary again, ~0.5 ms; bench: the paid tier, one story to 3,000 chats).
RENDERED_ALERTS_KEPT = 1024


@functools.lru_cache(maxsize=RENDERED_ALERTS_KEPT)
def _alert_message(alert: Alert, story_id: int | None, locale: str) -> OutgoingMessage:
    """Return alert_message in `locale`, the current one (a part of the key: the text is
    in it)."""
    return alert_message(alert, story_id=story_id)
