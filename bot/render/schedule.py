"""What /settings, /timezone, /quiet and /digest show: a chat's delivery schedule."""

from bot.i18n import t
from bot.render.callbacks import SETTINGS, SettingsAction
from bot.render.html import escape, shorten
from bot.render.message import Button, OutgoingMessage
from bot.storage import ChatSchedule

# An unknown zone name is echoed back, cut to this many characters.
MAX_SHOWN_NAME = 64


def settings_view(schedule: ChatSchedule) -> OutgoingMessage:
    """The chat's schedule, with buttons to turn quiet hours and digests off and a hint of
    the commands that change them."""
    text = t(
        "<b>Delivery settings</b>\n"
        "Time zone: {zone}\n"
        "Quiet hours: {quiet}\n"
        "Digests: {digest}\n\n"
        "Change them with /timezone Europe/Kyiv, /quiet 23:00-07:00 or /digest 08:00,18:00.",
        zone=escape(schedule.timezone),
        quiet=_quiet(schedule),
        digest=_digest(schedule),
    )
    rows: list[tuple[Button, ...]] = []
    if schedule.quiet is not None:
        label = t("Turn quiet hours off")
        rows.append((Button(label, callback_data=SETTINGS.encode(SettingsAction.QUIET_OFF)),))
    if schedule.digest_times:
        label = t("Instant alerts instead of digests")
        rows.append((Button(label, callback_data=SETTINGS.encode(SettingsAction.DIGEST_OFF)),))
    return OutgoingMessage(text, tuple(rows))


def _quiet(schedule: ChatSchedule) -> str:
    if schedule.quiet is None:
        return t("off")
    start, end = schedule.quiet
    return f"{clock_text(start)}–{clock_text(end)}"


def _digest(schedule: ChatSchedule) -> str:
    if not schedule.digest_times:
        return t("off (instant alerts)")
    return ", ".join(clock_text(minutes) for minutes in schedule.digest_times)


def timezone_shown(schedule: ChatSchedule) -> str:
    """/timezone alone: the chat's zone and how to change it."""
    return t(
        "This chat's time zone is {zone}. To change it, send /timezone with a city or a UTC "
        "offset, e.g. <code>/timezone Kyiv</code> or <code>/timezone UTC+2</code>.",
        zone=escape(schedule.timezone),
    )


def timezone_set(zone: str) -> str:
    """The zone is stored."""
    return t(
        "✅ Time zone set to {zone}. Quiet hours and digest times follow it.", zone=escape(zone)
    )


def timezone_unknown(text: str, suggestions: list[str]) -> str:
    """An unknown zone name, with close ones if there are any."""
    if suggestions:
        return t(
            "I don't know the time zone “{name}”. Did you mean: {suggestions}?",
            name=escape(shorten(text, MAX_SHOWN_NAME)),
            suggestions=", ".join(f"<code>{escape(zone)}</code>" for zone in suggestions),
        )
    return t(
        "I don't know the time zone “{name}”. Send a city such as <code>Kyiv</code> or "
        "<code>Europe/London</code>, or a UTC offset such as <code>UTC+2</code>.",
        name=escape(shorten(text, MAX_SHOWN_NAME)),
    )


def quiet_set(schedule: ChatSchedule) -> str:
    """Quiet hours are stored."""
    return t(
        "🌙 Quiet hours: {quiet} ({zone}). Alerts in that time are held and arrive as one "
        "digest when it ends. /quiet off turns them off.",
        quiet=_quiet(schedule),
        zone=escape(schedule.timezone),
    )


def quiet_off() -> str:
    """Quiet hours are off; anything held goes now."""
    return t("🔔 Quiet hours are off. Anything held is on its way now.")


def quiet_usage() -> str:
    """/quiet with nothing or junk after it."""
    return t(
        "Send the quiet hours as start-end in your time zone, e.g. "
        "<code>/quiet 23:00-07:00</code>, or <code>/quiet off</code>."
    )


def digest_set(schedule: ChatSchedule) -> str:
    """Digest times are stored."""
    return t(
        "📰 Digests at {times} ({zone}): instead of instant alerts, one message at each time "
        "with every new story since the last. /digest off brings instant alerts back.",
        times=_digest(schedule),
        zone=escape(schedule.timezone),
    )


def digest_off() -> str:
    """Digests are off; anything held goes now."""
    return t("⚡ Digests are off: alerts arrive as they come. Anything held is on its way now.")


def digest_usage() -> str:
    """/digest with nothing or junk after it."""
    return t(
        "Send up to 6 digest times in your time zone, e.g. <code>/digest 08:00,18:00</code>, "
        "or <code>/digest off</code>."
    )


def clock_text(minutes: int) -> str:
    """Return "07:00" for 420 minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def stale_settings_button() -> str:
    """A tap on a settings button of a chat the bot no longer knows, or forged data."""
    return t("That button no longer works. Send /settings to see your settings.")
