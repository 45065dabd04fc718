"""Telegram HTML texts of the admin commands, built from plain data."""

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from bot.i18n import N_, t, tn, translator
from bot.render.html import TELEGRAM_TEXT_LIMIT, split_message
from bot.storage import BroadcastStatus, Feed, Stats


def not_allowed() -> str:
    """Refuse an admin command to anyone else."""
    return t("Sorry, that command is for the bot's admins.")


def broadcast_usage() -> str:
    return t(
        "Usage: <code>/broadcast your announcement</code>, or reply <code>/broadcast</code> to "
        "one of your own messages to send it as it is, formatting included. You will see a "
        "preview and confirm before anything is sent."
    )


def broadcast_not_yours() -> str:
    return t("Reply /broadcast to one of your own messages.")


def broadcast_cancelled() -> str:
    return t("Broadcast cancelled. Nothing was sent.")


def addfeed_usage() -> str:
    return t("Usage: <code>/addfeed https://example.com/feed.xml</code> (http or https).")


def removefeed_usage() -> str:
    return t("Usage: <code>/removefeed &lt;URL or number from /feeds&gt;</code>.")


def broadcast_too_long(length: int) -> str:
    """Refuse a broadcast over Telegram's text limit."""
    return tn(
        "That text is {n} character long; Telegram allows {limit}. Shorten it and try again.",
        "That text is {n} characters long; Telegram allows {limit}. Shorten it and try again.",
        length,
        limit=TELEGRAM_TEXT_LIMIT,
    )


def broadcast_confirmation(recipients: int) -> str:
    """Ask the admin to confirm the previewed broadcast."""
    if recipients == 0:
        return t("The message above would go to nobody: there are no active subscribers yet.")
    return tn(
        "The message above will go to <b>{n}</b> active subscriber "
        "(paused and blocked users excluded). Send it?",
        "The message above will go to <b>{n}</b> active subscribers "
        "(paused and blocked users excluded). Send it?",
        recipients,
    )


_ALREADY = {
    BroadcastStatus.DRAFT: N_("This broadcast is still a draft."),
    BroadcastStatus.CANCELLED: N_("This broadcast is already cancelled."),
    BroadcastStatus.SENDING: N_("This broadcast is already being sent."),
    BroadcastStatus.DONE: N_("This broadcast is already done."),
}


def broadcast_already(status: BroadcastStatus) -> str:
    """Answer a tap on a broadcast that is no longer a draft."""
    return t(_ALREADY[status])


def broadcast_progress(recipients: int, counts: dict[str, int], *, finished: bool) -> str:
    """Show how far a broadcast has got, or its final report."""
    delivered = counts.get("sent", 0)
    blocked = counts.get("blocked", 0)
    failed = counts.get("failed", 0) + counts.get("dropped", 0)
    if finished:
        return t(
            "✅ Broadcast finished: {delivered} delivered, {blocked} blocked the bot "
            "(marked as blocked), {failed} failed, of {recipients}.",
            delivered=delivered,
            blocked=blocked,
            failed=failed,
            recipients=recipients,
        )
    done = delivered + blocked + failed
    return t(
        "📣 Sending broadcast… {done} of {recipients} done ({delivered} delivered).",
        done=done,
        recipients=recipients,
        delivered=delivered,
    )


def feed_added(title: str, url: str, entries: int, found_on_page: str | None) -> str:
    """Confirm /addfeed."""
    found = (
        t("Found the feed {url} on {page}.", url=escape(url), page=escape(found_on_page)) + "\n"
        if found_on_page
        else ""
    )
    added = tn(
        "✅ Added <b>{title}</b> ({n} entry now). "
        "Its current entries are recorded; new stories will be alerted from now on.",
        "✅ Added <b>{title}</b> ({n} entries now). "
        "Its current entries are recorded; new stories will be alerted from now on.",
        entries,
        title=escape(title or url),
    )
    return found + added


def feed_already_present(feed: Feed, number: int) -> str:
    """Report a feed that is already watched."""
    return t(
        "Already watching that feed: {number}. <b>{title}</b>",
        number=number,
        title=escape(feed.title or feed.url),
    )


def feed_removed(feed: Feed) -> str:
    """Confirm /removefeed."""
    return t(
        "Removed <b>{title}</b> ({url}). "
        "Its stories are kept so they are not alerted again if it returns.",
        title=escape(feed.title or feed.url),
        url=escape(feed.url),
    )


def feed_list(feeds: Sequence[Feed], now: float) -> list[str]:
    """List every feed, numbered, split into messages within Telegram's limit."""
    if not feeds:
        return [t("No feeds yet. Add one with /addfeed &lt;URL&gt;.")]
    blocks = [_feed_block(number, feed, now) for number, feed in enumerate(feeds, 1)]
    header = t("<b>Feeds ({count})</b>", count=len(feeds))
    return split_message("\n\n".join([header, *blocks]))


def _feed_block(number: int, feed: Feed, now: float) -> str:
    title = feed.title or t("(untitled)")
    lines = [
        f"{number}. <b>{escape(title)}</b>",
        escape(feed.url),
        t(
            "Last good poll: {ago} · entries seen: {entries}",
            ago=_ago(feed.last_ok_at, now),
            entries=feed.entries_seen,
        ),
    ]
    if feed.failures:
        lines.append(
            tn(
                "⚠️ {n} failure in a row: {error}",
                "⚠️ {n} failures in a row: {error}",
                feed.failures,
                error=escape(feed.last_error or "?"),
            )
        )
    lines.append(t("Next poll: {when}", when=_when(feed.next_poll_at, now)))
    return "\n".join(lines)


def stats(figures: Stats, now: float, started_at: float, version: str) -> str:
    """Show the bot's health."""
    chats = figures.chats
    lines = [
        t("<b>Newshound stats</b>"),
        t(
            "Users: {active} active, {paused} paused, {blocked} blocked",
            active=chats.get("active", 0),
            paused=chats.get("paused", 0),
            blocked=chats.get("blocked", 0),
        ),
        t("Subscriptions: {count}", count=figures.subscriptions),
    ]
    if figures.top_queries:
        lines.append(
            t(
                "Top queries: {queries}",
                queries=", ".join(
                    f"{escape(query)} ({count})" for query, count in figures.top_queries
                ),
            )
        )
    healthy = figures.feeds - figures.failing_feeds
    seen = tn("{n} story seen", "{n} stories seen", figures.stories_24h)
    sent = tn("{n} alert sent", "{n} alerts sent", figures.alerts_24h)
    pending = (
        t(
            "Outbox: {pending} pending, oldest {age} old",
            pending=figures.pending,
            age=_duration(now - figures.oldest_pending_at),
        )
        if figures.oldest_pending_at is not None
        else t("Outbox: {pending} pending", pending=figures.pending)
    )
    if figures.matches_waiting and figures.oldest_match_at is not None:
        pending += "\n" + t(
            "Matched stories still reaching chats: {stories}, oldest {age} old",
            stories=figures.matches_waiting,
            age=_duration(now - figures.oldest_match_at),
        )
    lines += [
        t(
            "Feeds: {healthy} healthy, {failing} failing",
            healthy=healthy,
            failing=figures.failing_feeds,
        ),
        t("Last 24 h: {seen}, {sent}", seen=seen, sent=sent),
        pending,
        t(
            "Database: {size} ({free} free inside)",
            size=file_size(figures.database_bytes),
            free=file_size(figures.free_bytes),
        ),
        t(
            "Uptime: {uptime} · version {version}",
            uptime=_duration(now - started_at),
            version=escape(version),
        ),
    ]
    return "\n".join(lines)


def file_size(size: int) -> str:
    """Return a byte count for people: 512 B, 4.0 KB, 12.3 MB, 1.5 GB (powers of 1024)."""
    if size >= 1024**3:
        return t("{size:.1f} GB", size=size / 1024**3)
    if size >= 1024**2:
        return t("{size:.1f} MB", size=size / 1024**2)
    if size >= 1024:
        return t("{size:.1f} KB", size=size / 1024)
    return t("{size} B", size=max(size, 0))


def _ago(moment: float | None, now: float) -> str:
    if moment is None:
        return t("never")
    return t("{duration} ago", duration=_duration(now - moment))


def _when(moment: float, now: float) -> str:
    if moment <= now:
        return t("now")
    # Translators: a CLDR time pattern (hours, minutes, seconds), as in "09:14:05".
    pattern = t("HH:mm:ss")
    clock = translator().datetime(datetime.fromtimestamp(moment, UTC), pattern)
    return t("in {duration} ({time} UTC)", duration=_duration(moment - now), time=clock)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return t("{seconds} s", seconds=seconds)
    if seconds < 3600:
        return t("{minutes} min", minutes=seconds // 60)
    if seconds < 86400:
        return t("{hours} h {minutes} min", hours=seconds // 3600, minutes=seconds % 3600 // 60)
    return t("{days} d {hours} h", days=seconds // 86400, hours=seconds % 86400 // 3600)
