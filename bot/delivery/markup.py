"""The Telegram edge of bot.render.message: a rendered keyboard as Telegram's inline markup."""

import functools

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render.message import Button, Keyboard

# A story's alert to each of its chats carries the same buttons: built once (PTB's objects
# are immutable once made, so a send may share them).
MARKUPS_KEPT = 1024


@functools.lru_cache(maxsize=MARKUPS_KEPT)
def inline_markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    """Return the keyboard as reply_markup, or None when it has no buttons."""
    rows = [[_button(button) for button in row] for row in keyboard if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _button(button: Button) -> InlineKeyboardButton:
    if button.url is not None:
        return InlineKeyboardButton(button.label, url=button.url)
    return InlineKeyboardButton(button.label, callback_data=button.callback_data)
