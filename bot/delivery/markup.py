"""The Telegram edge of bot.render.message: a rendered keyboard as Telegram's inline markup."""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render.message import Button, Keyboard


def inline_markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    """Return the keyboard as reply_markup, or None when it has no buttons."""
    rows = [[_button(button) for button in row] for row in keyboard if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _button(button: Button) -> InlineKeyboardButton:
    if button.url is not None:
        return InlineKeyboardButton(button.label, url=button.url)
    return InlineKeyboardButton(button.label, callback_data=button.callback_data)
