"""Telegram HTML texts of the bot's replies to subscribers, built from plain data."""

from collections.abc import Sequence
from html import escape

from bot.plural import counted
from bot.query import SYNTAX_HELP

EXAMPLE = '<code>/subscribe Ukraine, "Joe Biden" -football</code>'

HELP = (
    "<b>Newshound</b> watches news feeds and sends you new stories that match "
    "your subscriptions, with a short summary and the link.\n\n"
    "<b>Commands</b>\n"
    "/subscribe &lt;query&gt; — watch for stories (several at once with commas)\n"
    "/unsubscribe &lt;query or number&gt; — stop watching; without a query, tap to remove\n"
    "/unsubscribe all — remove every subscription\n"
    "/list — your subscriptions\n"
    "/pause — stop alerts for now (subscriptions are kept)\n"
    "/resume — alerts back on\n"
    "/help — this message\n\n" + SYNTAX_HELP
)

ASK_FOR_QUERY = (
    "What should I watch for? Send a word or phrase, for example "
    '<code>Ukraine</code> or <code>"Joe Biden" -football</code>. '
    "Several at once: separate them with commas."
)
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."
FREE_TEXT_HINT = (
    "To watch for news, send /subscribe followed by words, for example "
    "<code>/subscribe Ukraine</code>. Send /help for everything I can do."
)
NOTHING_TO_UNSUBSCRIBE = "You have no subscriptions. Add one with /subscribe, e.g. " + EXAMPLE
REMOVE_ALL_CANCELLED = "Nothing removed. Your subscriptions are unchanged."
ALREADY_PAUSED = "Alerts are already paused. Send /resume to turn them back on."
NOT_PAUSED = "Alerts are already on."
RESUMED = "Alerts are back on. You'll get new stories that match your subscriptions."
INTERNAL_ERROR = "Sorry, something went wrong on my side. Please try again in a moment."
STORAGE_UNAVAILABLE = (
    "Sorry, I can't save anything right now (a storage problem on my side). "
    "Nothing was changed; please try again later."
)
STALE_BUTTON = "That subscription was already removed."
TAP_TO_REMOVE = "Tap a subscription to remove it:"


def tap_to_remove(total: int, shown: int) -> str:
    """Introduce the removal buttons, saying so when not all subscriptions have one."""
    if total <= shown:
        return TAP_TO_REMOVE
    return (
        f"{TAP_TO_REMOVE}\n(The first {shown} of {total} are shown; remove others with "
        "/unsubscribe &lt;number from /list&gt;.)"
    )


def welcome(first_name: str | None, subscription_count: int) -> str:
    """Greet a user who sent /start."""
    name = f", {escape(first_name)}" if first_name else ""
    lines = [
        f"Hello{name}! I'm Newshound: I watch news feeds and alert you to new stories "
        "about what you care about, within minutes.",
        "",
        f"Try {EXAMPLE}",
    ]
    if subscription_count:
        lines.append(
            f"You have {counted(subscription_count, 'subscription')}: see them with /list."
        )
    lines.append("Send /help for all commands and the query syntax.")
    return "\n".join(lines)


def subscribe_report(
    added: Sequence[str],
    existing: Sequence[str],
    over_limit: Sequence[str],
    invalid: Sequence[tuple[str, str]],
    limit: int,
) -> str:
    """Report what a /subscribe did with each query it was given."""
    parts: list[str] = []
    if added:
        parts.append("✅ Subscribed: " + _joined(added))
    if existing:
        parts.append("Already subscribed: " + _joined(existing))
    if over_limit:
        parts.append(
            f"Not added, you have reached the limit of {counted(limit, 'subscription')}: "
            + _joined(over_limit)
            + ". Remove some with /unsubscribe."
        )
    for text, reason in invalid:
        parts.append(f"❌ <code>{escape(text)}</code> was not added: {escape(reason)}.")
    if invalid:
        parts.append(SYNTAX_HELP)
    return "\n\n".join(parts)


def unsubscribe_report(removed: Sequence[str], missing: Sequence[str]) -> str:
    """Report what an /unsubscribe removed and what it could not find."""
    parts: list[str] = []
    if removed:
        parts.append("Removed: " + _joined(removed))
    if missing:
        parts.append(
            "Not found among your subscriptions: " + _joined(missing) + ". See them with /list."
        )
    return "\n\n".join(parts)


def confirm_remove_all(count: int) -> str:
    """Ask before removing every subscription."""
    return f"Remove all {counted(count, 'subscription')}? This cannot be undone."


def removed_all(count: int) -> str:
    """Confirm that every subscription was removed."""
    if count == 0:
        return "You had no subscriptions."
    return f"Removed all {counted(count, 'subscription')}. Add new ones with /subscribe."


def subscription_list(displays: Sequence[str], paused: bool) -> str:
    """List the user's subscriptions, numbered."""
    if not displays:
        return NOTHING_TO_UNSUBSCRIBE
    lines = [f"<b>Your subscriptions ({len(displays)})</b>"]
    lines += [f"{number}. {escape(display)}" for number, display in enumerate(displays, 1)]
    if paused:
        lines += ["", "⏸ Alerts are paused: send /resume to get them again."]
    return "\n".join(lines)


def paused(count: int) -> str:
    """Confirm /pause."""
    return (
        f"⏸ Alerts paused. Your {counted(count, 'subscription')} will be kept; "
        "stories published while paused will not be sent later. Send /resume to turn alerts on."
    )


def too_many_at_once(count: int, limit: int) -> str:
    """Refuse a command listing too many queries."""
    return f"That is {counted(count, 'subscription')} at once; send at most {limit} per command."


def _joined(displays: Sequence[str]) -> str:
    return ", ".join(f"<b>{escape(display)}</b>" for display in displays)
