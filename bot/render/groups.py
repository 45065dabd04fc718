"""What groups and forum topics read: the introduction, the admins-only refusal, /movetopic."""

from collections.abc import Sequence

from bot.i18n import t, tn
from bot.render.html import escape


def group_introduction() -> str:
    """The one message the bot writes when it is added to a group."""
    return t(
        "Hello! I'm Newshound: I watch news feeds and post the stories that match what this "
        "group follows.\n\n"
        "Admins choose: <code>/subscribe Ukraine, NATO</code>, /unsubscribe, /pause, "
        "/resume, /settings, /language. Everyone can see /list, try a query with "
        "<code>/try NATO</code> and read /help.\n"
        "In a forum, a subscription made in a topic posts into that topic."
    )


def admins_only() -> str:
    """The polite refusal a group member who is not an admin gets."""
    return t("Sorry, only this group's admins can change its alerts. Anyone can use /list.")


def movetopic_usage() -> str:
    """How /movetopic is used: in the topic the alerts should go to."""
    return t(
        "Run it in the topic where the alerts should go: <code>/movetopic all</code> moves "
        "every subscription of this group here, <code>/movetopic 2, 3</code> those numbers "
        "of /list."
    )


def movetopic_not_a_topic() -> str:
    """/movetopic outside a forum topic."""
    return t("/movetopic works in a topic of a forum group: run it in the topic to move alerts to.")


def moved_to_topic(displays: Sequence[str], missing: Sequence[str]) -> str:
    """What /movetopic moved here, and the numbers or queries it did not find."""
    lines = []
    if displays:
        lines.append(
            tn(
                "Moved {n} subscription to this topic: {queries}",
                "Moved {n} subscriptions to this topic: {queries}",
                len(displays),
                queries=", ".join(escape(display) for display in displays),
            )
        )
    if missing:
        lines.append(t("Not found: {items}", items=", ".join(escape(item) for item in missing)))
    if not lines:
        lines.append(t("Nothing to move: this topic already has them all."))
    return "\n".join(lines)
