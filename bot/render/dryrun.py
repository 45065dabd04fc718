"""The dry run's answer (/try): how many stories a query would have matched, and the newest."""

from collections.abc import Sequence

from bot.i18n import t, tn
from bot.render.alerts import format_time
from bot.render.html import escape, shorten
from bot.storage.models import TriedStory

# A title longer than this is cut in the list: the link carries the rest.
MAX_TITLE_LENGTH = 200
MAX_SOURCE_LENGTH = 100


def dry_run_report(
    display: str, matched: int, days: int, newest: Sequence[TriedStory], *, subscribed: bool
) -> str:
    """Return the /try answer as Telegram HTML."""
    query = escape(display)
    if not matched:
        head = t(
            "🔎 <b>{query}</b> would not have matched any story of the last {days} days.",
            query=query,
            days=days,
        )
        tail = "" if subscribed else t("Subscribe anyway to catch the next one, or try another.")
        return "\n\n".join(part for part in (head, tail) if part)
    head = tn(
        "🔎 <b>{query}</b> would have matched {n} story in the last {days} days.",
        "🔎 <b>{query}</b> would have matched {n} stories in the last {days} days.",
        matched,
        query=query,
        days=days,
    )
    listing = [t("The newest:")]
    listing += [_story_line(number, story) for number, story in enumerate(newest, start=1)]
    parts = [head, "\n".join(listing)]
    if subscribed:
        parts.append(t("You are already subscribed to it."))
    return "\n\n".join(parts)


def _story_line(number: int, story: TriedStory) -> str:
    title = escape(shorten(" ".join(story.title.split()) or t("(no title)"), MAX_TITLE_LENGTH))
    if story.link and story.link.startswith(("http://", "https://")):
        title = f'<a href="{escape(story.link)}">{title}</a>'
    meta = [shorten(story.source, MAX_SOURCE_LENGTH), format_time(story.published)]
    return f"{number}. {title}\n    " + escape(" · ".join(part for part in meta if part))


def try_usage() -> str:
    """How to use /try, for a bare /try."""
    return t(
        "Send a query after /try to see what it would have matched in the last week, "
        "for example <code>/try Ukraine -football</code>. Nothing is subscribed."
    )


def one_query_at_a_time() -> str:
    """/try takes one query, not a comma-separated list."""
    return t("Try one query at a time, for example <code>/try Ukraine</code>.")


def try_refused(display: str, reason: str) -> str:
    """Why a /try query is not valid (the same reasons as /subscribe)."""
    return t(
        "🔎 <b>{query}</b> is not a query I can use: {reason}.",
        query=escape(display),
        reason=escape(reason),
    )


def subscribe_button_label(display: str) -> str:
    """The label of the button that subscribes to a tried query."""
    return t("➕ Subscribe to {query}", query=shorten(display, 40))
