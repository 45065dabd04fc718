"""Tuning from an alert, rendered: the keyboards an alert's buttons turn into, in place, and
what /list shows of muted queries and hidden sources.

Every button names ids only (bot.render.callbacks.TUNE); the texts come from the catalogue
in the current locale. Times are shown by format_until alone, so a chat's own time zone
needs one argument more.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlsplit

from bot.i18n import t, translator
from bot.render.callbacks import SHOW_LISTED, TUNE, UNMUTE_LISTED, Tune, TuneAction
from bot.render.html import escape, shorten
from bot.render.message import Button, Keyboard, OutgoingMessage
from bot.storage import HiddenFeed, MutedSubscription, Subscription

HOUR = 3600.0
# The mute choices, in order: 8 hours, a day, a week. A button names one by its place.
MUTE_DURATIONS: tuple[float, ...] = (8 * HOUR, 24 * HOUR, 7 * 24 * HOUR)
# Buttons show a query or a source at most this long (Telegram cuts long labels anyway).
LABEL_LIMIT = 40
# /list's undo buttons per section (Telegram takes 100 buttons; the rest undo from alerts).
MAX_LIST_BUTTONS = 40


def alert_subscriptions(
    matched: Sequence[str], subscriptions: Sequence[Subscription]
) -> list[Subscription]:
    """Return the chat's subscriptions an alert named in its matched list, in that order
    (a query no longer subscribed is left out)."""
    found = []
    for display in matched:
        same = [s for s in subscriptions if s.display == display]
        if same:
            found.append(min(same, key=lambda s: s.id))
    return found


def format_until(moment: datetime, tz: tzinfo = UTC) -> str:
    """Return when a mute ends, as "Tue 8 Dec, 14:00 UTC", in tz (the chat's zone)."""
    local = moment.astimezone(tz)
    zone = local.tzname() or local.strftime("%z")
    # Translators: a CLDR date pattern, as in "Tue 8 Dec, 14:00" (the zone follows).
    shown = translator().datetime(local, t("EEE d MMM, HH:mm"))
    return t("{date_time} {zone}", date_time=shown, zone=zone)


def mute_choices(story_id: int, subscription_id: int) -> Keyboard:
    """Return the mute durations for one subscription, and a way back."""
    labels = (t("8 h"), t("24 h"), t("A week"))
    return (
        tuple(
            _button(label, TuneAction.MUTE, story_id, subscription_id, choice)
            for choice, label in enumerate(labels)
        ),
        (_back(story_id),),
    )


def query_chooser(
    story_id: int, subscriptions: Sequence[Subscription], action: TuneAction
) -> Keyboard:
    """Return one button per query the alert matched, to mute or stop it; and a way back."""
    icon = "🔕" if action is TuneAction.MUTE_PICK else "⛔"
    rows = [
        (_button(f"{icon} {_label(s.display)}", action, story_id, s.id),) for s in subscriptions
    ]
    return (*rows, (_back(story_id),))


def muted(display: str, until: datetime, tz: tzinfo = UTC) -> str:
    """Confirm a mute: which query, and when it comes back."""
    return t("🔕 Muted “{query}” until {time}", query=_label(display), time=format_until(until, tz))


def muted_keyboard(
    story_id: int, subscription_id: int, display: str, until: datetime, tz: tzinfo = UTC
) -> Keyboard:
    """Return the confirmation of a mute (tap: the alert's buttons again) and its Undo."""
    return (
        (_back(story_id, muted(display, until, tz)),),
        (_button(t("↩ Undo"), TuneAction.UNMUTE, story_id, subscription_id),),
    )


def stopped(display: str) -> str:
    """Confirm a stopped query."""
    return t("⛔ Stopped “{query}”", query=_label(display))


def stopped_keyboard(story_id: int, display: str, place: int, thread_id: int | None) -> Keyboard:
    """Return the confirmation of a stop and its Undo (the query's place in the alert's
    matched list and its forum topic, to subscribe to it again)."""
    return (
        (_back(story_id, stopped(display)),),
        (_button(t("↩ Undo"), TuneAction.RESTORE, story_id, place, thread_id or 0),),
    )


def hidden(source: str) -> str:
    """Confirm a hidden source."""
    return t("🙈 Hidden: {source}", source=_label(source or t("this source")))


def hidden_keyboard(story_id: int, source: str) -> Keyboard:
    """Return the confirmation of a hidden source and its Undo."""
    return (
        (_back(story_id, hidden(source)),),
        (_button(t("↩ Undo"), TuneAction.SHOW, story_id),),
    )


def tuning_list(
    base: str,
    muted_now: Sequence[MutedSubscription],
    hidden_now: Sequence[HiddenFeed],
    tz: tzinfo = UTC,
) -> OutgoingMessage:
    """Return /list (base: the numbered subscriptions) with the muted queries, when each
    comes back, and the hidden sources, each with a button to undo it now."""
    blocks = [base]
    rows: list[tuple[Button, ...]] = []
    if muted_now:
        lines = [t("<b>Muted</b>")]
        for mute in muted_now:
            until = datetime.fromtimestamp(mute.until, UTC)
            display = mute.subscription.display
            back = format_until(until, tz)
            lines.append(t("• {query}: back {time}", query=escape(display), time=back))
            label = t("🔔 Unmute “{query}”", query=_label(display))
            if len(rows) < MAX_LIST_BUTTONS:
                rows.append((Button(label, UNMUTE_LISTED.encode(mute.subscription.id)),))
        blocks.append("\n".join(lines))
    if hidden_now:
        lines = [t("<b>Hidden sources</b>")]
        for number, feed in enumerate(hidden_now):
            name = feed_name(feed)
            lines.append(f"• {escape(name)}")
            label = t("👁 Show “{source}”", source=_label(name))
            if number < MAX_LIST_BUTTONS:
                rows.append((Button(label, SHOW_LISTED.encode(feed.feed_id)),))
        blocks.append("\n".join(lines))
    return OutgoingMessage("\n\n".join(blocks), tuple(rows))


def feed_name(feed: HiddenFeed) -> str:
    """Return a feed's title, or its host when it has none."""
    return feed.title.strip() or urlsplit(feed.url).hostname or feed.url


def expired() -> str:
    """Answer a button that no longer acts (forged, stale, or from another chat)."""
    return t("This button has expired.")


def _label(text: str) -> str:
    return shorten(" ".join(text.split()), LABEL_LIMIT)


def _back(story_id: int, label: str | None = None) -> Button:
    return _button(label or t("« Back"), TuneAction.BACK, story_id)


def _button(
    label: str, action: TuneAction, story_id: int, target: int = 0, extra: int = 0
) -> Button:
    return Button(label, TUNE.encode(Tune(action, story_id, target, extra)))
