"""Telegram HTML texts of the bot's replies to subscribers, built from plain data."""

from collections.abc import Sequence
from html import escape

from bot.i18n import t, tn
from bot.render.channels import channels_line


def example() -> str:
    """An example /subscribe command, as code."""
    return t('<code>/subscribe Ukraine, "Joe Biden" -football</code>')


def syntax_help() -> str:
    """How to write a subscription, in a few lines."""
    return (
        t(
            "How to write a subscription:\n"
            "• <code>Ukraine</code>: the word in any case and form, and its names in other "
            "languages (Україна, Украины, Ucrânia…)\n"
            '• <code>"Ukraine"</code>: exactly this word, nothing else\n'
            "• <code>Putin Xi</code>: both words, anywhere in the story\n"
            '• <code>"Joe Biden"</code>: the exact phrase\n'
            "• <code>Kyiv OR Kiev</code>: either word\n"
            "• <code>Ukrain*</code>: any word starting with Ukrain\n"
            "• <code>NATO -football</code>: NATO, but not stories mentioning football\n"
            "Separate several subscriptions with commas: <code>Ukraine, NATO</code>"
        )
        + "\n"
        + t(
            "Sharper subscriptions:\n"
            "• <code>Putin NEAR/5 Trump</code>: both words at most 5 words apart, in either order "
            "(NEAR/1 to NEAR/20)\n"
            "• <code>Ukraine source:bbc</code>: only from outlets whose name or web address "
            "contains bbc; <code>source:bbc</code> alone: everything from them\n"
            "• <code>Ukraine -source:rt</code>: not from those outlets"
        )
    )


def help_text() -> str:
    """The /help answer: the commands, then the query syntax."""
    return t(
        "<b>Newshound</b> watches news feeds and sends you new stories that match "
        "your subscriptions, with a short summary and the link.\n\n"
        "<b>Commands</b>\n"
        "/subscribe &lt;query&gt; — watch for stories (several at once with commas)\n"
        "/unsubscribe &lt;query or number&gt; — stop watching; without a query, tap to remove\n"
        "/unsubscribe all — remove every subscription\n"
        "/list — your subscriptions\n"
        "/pause — stop alerts for now (subscriptions are kept)\n"
        "/resume — alerts back on\n"
        "/language — the language I speak in this chat\n"
        "/help — this message\n\n"
        "{syntax_help}",
        syntax_help=more_commands() + "\n" + channels_line() + "\n\n" + syntax_help(),
    )


def more_commands() -> str:
    """The commands for trying queries and scheduling alerts, and the alerts' buttons."""
    return t(
        "/try &lt;query&gt; — what a query would have found in the last week\n"
        "/settings — your time zone, quiet hours and digests\n"
        "/timezone &lt;city or UTC offset&gt; — e.g. <code>/timezone Kyiv</code>\n"
        "/quiet 23:00-07:00 — hold alerts at night, as one digest when it ends "
        "(<code>/quiet off</code>)\n"
        "/digest 08:00,18:00 — digests at those times instead of instant alerts "
        "(<code>/digest off</code>)\n"
        "Buttons under each alert mute its query for a while, stop it or hide its source."
    )


def ask_for_query() -> str:
    """Ask for the queries of a bare /subscribe."""
    return t(
        "What should I watch for? Send a word or phrase, for example "
        '<code>Ukraine</code> or <code>"Joe Biden" -football</code>. '
        "Several at once: separate them with commas."
    )


def unknown_command() -> str:
    """Point an unknown command towards /help."""
    return t("I don't know that command. Send /help to see what I can do.")


def free_text_hint() -> str:
    """Point free text towards /subscribe and /help."""
    return t(
        "To watch for news, send /subscribe followed by words, for example "
        "<code>/subscribe Ukraine</code>. Send /help for everything I can do."
    )


def nothing_to_unsubscribe() -> str:
    """Say the chat has no subscriptions, and how to add one."""
    return t(
        "You have no subscriptions. Add one with /subscribe, e.g. {example}", example=example()
    )


def remove_all_cancelled() -> str:
    return t("Nothing removed. Your subscriptions are unchanged.")


def already_paused() -> str:
    return t("Alerts are already paused. Send /resume to turn them back on.")


def not_paused() -> str:
    return t("Alerts are already on.")


def resumed() -> str:
    return t("Alerts are back on. You'll get new stories that match your subscriptions.")


def internal_error() -> str:
    return t("Sorry, something went wrong on my side. Please try again in a moment.")


def storage_unavailable() -> str:
    return t(
        "Sorry, I can't save anything right now (a storage problem on my side). "
        "Nothing was changed; please try again later."
    )


def stale_button() -> str:
    return t("That subscription was already removed.")


def tap_to_remove(total: int, shown: int) -> str:
    """Introduce the removal buttons, saying so when not all subscriptions have one."""
    tap = t("Tap a subscription to remove it:")
    if total <= shown:
        return tap
    return t(
        "{tap_to_remove}\n(The first {shown} of {total} are shown; remove others with "
        "/unsubscribe &lt;number from /list&gt;.)",
        tap_to_remove=tap,
        shown=shown,
        total=total,
    )


def welcome(first_name: str | None, subscription_count: int) -> str:
    """Greet a user who sent /start."""
    greeting = t("Hello, {name}!", name=escape(first_name)) if first_name else t("Hello!")
    lines = [
        t(
            "{greeting} I'm Newshound: I watch news feeds and alert you to new stories "
            "about what you care about, within minutes.",
            greeting=greeting,
        ),
        "",
        t("Try {example}", example=example()),
    ]
    if subscription_count:
        lines.append(
            tn(
                "You have {n} subscription: see them with /list.",
                "You have {n} subscriptions: see them with /list.",
                subscription_count,
            )
        )
    lines.append(t("Send /help for all commands and the query syntax."))
    return "\n".join(lines)


def subscribe_report(
    added: Sequence[str],
    existing: Sequence[str],
    over_limit: Sequence[str],
    invalid: Sequence[tuple[str, str]],
    limit: int,
    also: Sequence[tuple[str, Sequence[str]]] = (),
) -> str:
    """Report what a /subscribe did with each query it was given.

    also: (display, other names) of added queries that reach other languages' names.
    """
    parts: list[str] = []
    if added:
        parts.append(t("✅ Subscribed: {queries}", queries=_joined(added)))
    for display, names in also:
        if names:
            parts.append(also_matches_line(display, names))
    if existing:
        parts.append(t("Already subscribed: {queries}", queries=_joined(existing)))
    if over_limit:
        parts.append(
            tn(
                "Not added, you have reached the limit of {n} subscription: {queries}. "
                "Remove some with /unsubscribe.",
                "Not added, you have reached the limit of {n} subscriptions: {queries}. "
                "Remove some with /unsubscribe.",
                limit,
                queries=_joined(over_limit),
            )
        )
    for text, reason in invalid:
        parts.append(
            t(
                "❌ <code>{query}</code> was not added: {reason}.",
                query=escape(text),
                reason=escape(reason),
            )
        )
    if invalid:
        parts.append(syntax_help())
    return "\n\n".join(parts)


def unsubscribe_report(removed: Sequence[str], missing: Sequence[str]) -> str:
    """Report what an /unsubscribe removed and what it could not find."""
    parts: list[str] = []
    if removed:
        parts.append(t("Removed: {queries}", queries=_joined(removed)))
    if missing:
        parts.append(
            t(
                "Not found among your subscriptions: {queries}. See them with /list.",
                queries=_joined(missing),
            )
        )
    return "\n\n".join(parts)


def confirm_remove_all(count: int) -> str:
    """Ask before removing every subscription."""
    return tn(
        "Remove all {n} subscription? This cannot be undone.",
        "Remove all {n} subscriptions? This cannot be undone.",
        count,
    )


def removed_all(count: int) -> str:
    """Confirm that every subscription was removed."""
    if count == 0:
        return t("You had no subscriptions.")
    return tn(
        "Removed all {n} subscription. Add new ones with /subscribe.",
        "Removed all {n} subscriptions. Add new ones with /subscribe.",
        count,
    )


def subscription_list(displays: Sequence[str], paused: bool) -> str:
    """List the user's subscriptions, numbered."""
    if not displays:
        return nothing_to_unsubscribe()
    lines = [t("<b>Your subscriptions ({count})</b>", count=len(displays))]
    lines += [f"{number}. {escape(display)}" for number, display in enumerate(displays, 1)]
    if paused:
        lines += ["", t("⏸ Alerts are paused: send /resume to get them again.")]
    return "\n".join(lines)


def paused(count: int) -> str:
    """Confirm /pause."""
    return tn(
        "⏸ Alerts paused. Your {n} subscription will be kept; stories published while "
        "paused will not be sent later. Send /resume to turn alerts on.",
        "⏸ Alerts paused. Your {n} subscriptions will be kept; stories published while "
        "paused will not be sent later. Send /resume to turn alerts on.",
        count,
    )


def too_many_at_once(count: int, limit: int) -> str:
    """Refuse a command listing too many queries."""
    return tn(
        "That is {n} subscription at once; send at most {limit} per command.",
        "That is {n} subscriptions at once; send at most {limit} per command.",
        count,
        limit=limit,
    )


# Enough names to show what the aliases do without a wall of spellings.
ALSO_MATCHES_SHOWN = 8


def also_matches_line(display: str, names: Sequence[str]) -> str:
    """Say which other names (other languages, other spellings) a query also matches."""
    shown = ", ".join(escape(name) for name in names[:ALSO_MATCHES_SHOWN])
    if len(names) > ALSO_MATCHES_SHOWN:
        shown += "…"
    return t("🌐 <b>{query}</b> also matches {names}", query=escape(display), names=shown)


def _joined(displays: Sequence[str]) -> str:
    return ", ".join(f"<b>{escape(display)}</b>" for display in displays)
