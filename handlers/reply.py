"""Answer a user: HTML replies split to fit, retried if Telegram asks us to wait."""

from typing import Any

from telegram import (
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.ext import ExtBot

from bot.formatting import split_message

# The rate limiter raises 429s to the caller (the delivery worker handles its own); a reply
# to a person is worth waiting for, so it is retried this many times.
REPLY_RETRIES = 2

# The markups send_message accepts, spelled out from public names (python-telegram-bot
# keeps its own alias in a private module that may change in any release).
ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


async def reply(message: Message, text: str, reply_markup: ReplyMarkup | None = None) -> Message:
    """Reply in HTML (the default parse mode), split if long; buttons go on the last part."""
    bot = message.get_bot()
    assert isinstance(bot, ExtBot)
    parts = split_message(text)
    for part in parts[:-1]:
        await _send(bot, message.chat_id, part, None)
    return await _send(bot, message.chat_id, parts[-1], reply_markup)


async def _send(
    bot: ExtBot[Any], chat_id: int, text: str, reply_markup: ReplyMarkup | None
) -> Message:
    return await bot.send_message(
        chat_id, text, reply_markup=reply_markup, rate_limit_args=REPLY_RETRIES
    )
