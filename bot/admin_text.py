"""Telegram HTML texts of the admin commands, built from plain data."""

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from bot.plural import counted
from bot.render.html import TELEGRAM_TEXT_LIMIT, split_message
from bot.storage import Feed, Stats

NOT_ALLOWED = "Sorry, that command is for the bot's admins."
BROADCAST_USAGE = (
    "Usage: <code>/broadcast your announcement</code>, or reply <code>/broadcast</code> to "
    "one of your own messages to send it as it is, formatting included. You will see a "
    "preview and confirm before anything is sent."
)
BROADCAST_NOT_YOURS = "Reply /broadcast to one of your own messages."
BROADCAST_CANCELLED = "Broadcast cancelled. Nothing was sent."
ADDFEED_USAGE = "Usage: <code>/addfeed https://example.com/feed.xml</code> (http or https)."
REMOVEFEED_USAGE = "Usage: <code>/removefeed &lt;URL or number from /feeds&gt;</code>."
NO_FEEDS = "No feeds yet. Add one with /addfeed &lt;URL&gt;."


def broadcast_too_long(length: int) -> str:
    """Refuse a broadcast over Telegram's text limit."""
    return (
        f"That text is {length} characters long; Telegram allows {TELEGRAM_TEXT_LIMIT}. "
        "Shorten it and try again."
    )


def broadcast_confirmation(recipients: int) -> str:
    """Ask the admin to confirm the previewed broadcast."""
    if recipients == 0:
        return "The message above would go to nobody: there are no active subscribers yet."
    noun = "subscriber" if recipients == 1 else "subscribers"
    return (
        f"The message above will go to <b>{recipients}</b> active {noun} "
        "(paused and blocked users excluded). Send it?"
    )


def broadcast_progress(recipients: int, counts: dict[str, int], *, finished: bool) -> str:
    """Show how far a broadcast has got, or its final report."""
    delivered = counts.get("sent", 0)
    blocked = counts.get("blocked", 0)
    failed = counts.get("failed", 0) + counts.get("dropped", 0)
    if finished:
        return (
            f"✅ Broadcast finished: {delivered} delivered, {blocked} blocked the bot "
            f"(marked as blocked), {failed} failed, of {recipients}."
        )
    done = delivered + blocked + failed
    return f"📣 Sending broadcast… {done} of {recipients} done ({delivered} delivered)."


def feed_added(title: str, url: str, entries: int, found_on_page: str | None) -> str:
    """Confirm /addfeed."""
    found = f"Found the feed {escape(url)} on {escape(found_on_page)}.\n" if found_on_page else ""
    now = counted(entries, "entry", "entries") + " now"
    return (
        f"{found}✅ Added <b>{escape(title or url)}</b> ({now}). "
        "Its current entries are recorded; new stories will be alerted from now on."
    )


def feed_already_present(feed: Feed, number: int) -> str:
    """Report a feed that is already watched."""
    return f"Already watching that feed: {number}. <b>{escape(feed.title or feed.url)}</b>"


def feed_removed(feed: Feed) -> str:
    """Confirm /removefeed."""
    return (
        f"Removed <b>{escape(feed.title or feed.url)}</b> ({escape(feed.url)}). "
        "Its stories are kept so they are not alerted again if it returns."
    )


def feed_list(feeds: Sequence[Feed], now: float) -> list[str]:
    """List every feed, numbered, split into messages within Telegram's limit."""
    if not feeds:
        return [NO_FEEDS]
    blocks = [_feed_block(number, feed, now) for number, feed in enumerate(feeds, 1)]
    return split_message("\n\n".join([f"<b>Feeds ({len(feeds)})</b>", *blocks]))


def _feed_block(number: int, feed: Feed, now: float) -> str:
    lines = [
        f"{number}. <b>{escape(feed.title or '(untitled)')}</b>",
        escape(feed.url),
        f"Last good poll: {_ago(feed.last_ok_at, now)} · entries seen: {feed.entries_seen}",
    ]
    if feed.failures:
        failures = counted(feed.failures, "failure")
        lines.append(f"⚠️ {failures} in a row: {escape(feed.last_error or '?')}")
    lines.append(f"Next poll: {_when(feed.next_poll_at, now)}")
    return "\n".join(lines)


def stats(figures: Stats, now: float, started_at: float, version: str) -> str:
    """Show the bot's health."""
    users = figures.users
    lines = [
        "<b>Newshound stats</b>",
        f"Users: {users.get('active', 0)} active, {users.get('paused', 0)} paused, "
        f"{users.get('blocked', 0)} blocked",
        f"Subscriptions: {figures.subscriptions}",
    ]
    if figures.top_queries:
        lines.append(
            "Top queries: "
            + ", ".join(f"{escape(query)} ({count})" for query, count in figures.top_queries)
        )
    healthy = figures.feeds - figures.failing_feeds
    lines += [
        f"Feeds: {healthy} healthy, {figures.failing_feeds} failing",
        f"Last 24 h: {counted(figures.stories_24h, 'story', 'stories')} seen, "
        f"{counted(figures.alerts_24h, 'alert')} sent",
        f"Outbox: {figures.pending} pending"
        + (
            f", oldest {_duration(now - figures.oldest_pending_at)} old"
            if figures.oldest_pending_at is not None
            else ""
        ),
        f"Database: {file_size(figures.database_bytes)}"
        f" ({file_size(figures.free_bytes)} free inside)",
        f"Uptime: {_duration(now - started_at)} · version {escape(version)}",
    ]
    return "\n".join(lines)


def file_size(size: int) -> str:
    """Return a byte count for people: 512 B, 4.0 KB, 12.3 MB, 1.5 GB (powers of 1024)."""
    for scale, unit in _SIZE_UNITS:
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{max(size, 0)} B"


_SIZE_UNITS = ((1024**3, "GB"), (1024**2, "MB"), (1024, "KB"))


def _ago(moment: float | None, now: float) -> str:
    if moment is None:
        return "never"
    return f"{_duration(now - moment)} ago"


def _when(moment: float, now: float) -> str:
    if moment <= now:
        return "now"
    stamp = datetime.fromtimestamp(moment, UTC).strftime("%H:%M:%S UTC")
    return f"in {_duration(moment - now)} ({stamp})"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
