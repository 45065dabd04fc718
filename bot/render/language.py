"""What /language shows: the choice of languages as buttons, and the confirmation."""

from bot.i18n import SUPPORTED_LOCALES, language_name, t
from bot.render.callbacks import LANGUAGE
from bot.render.message import Button, OutgoingMessage

CHOSEN_MARK = "✓ "


def language_menu(current: str) -> OutgoingMessage:
    """Ask which language to speak, one button per language named in itself, the current
    one marked."""
    keyboard = tuple(
        (Button(_label(locale, chosen=locale == current), callback_data=LANGUAGE.encode(locale)),)
        for locale in SUPPORTED_LOCALES
    )
    return OutgoingMessage(t("Which language should I speak in this chat?"), keyboard)


def _label(locale: str, *, chosen: bool) -> str:
    return (CHOSEN_MARK if chosen else "") + language_name(locale, capitalised=True)


def language_chosen(locale: str) -> str:
    """Confirm the choice; the caller speaks the new language already."""
    return t(
        "✅ This chat's language is now: {language}. Send /language to change it.",
        language=language_name(locale),
    )


def stale_language_button() -> str:
    """Answer a tap that names no language the bot speaks, or a chat it does not know."""
    return t("That button no longer works. Send /language to choose again.")
