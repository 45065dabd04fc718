"""Answer a user: HTML replies split to fit, retried if Telegram asks us to wait."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.delivery.markup import inline_markup
from bot.render.html import split_message
from bot.render.message import OutgoingMessage
from bot.updates.traffic import slot_released

log = logging.getLogger(__name__)

# The rate limiter raises 429s to the caller (the delivery worker handles its own); a reply
# to a person is worth waiting for, so it is retried this many times.
REPLY_RETRIES = 2

# The markups send_message accepts, spelled out from public names (python-telegram-bot
# keeps its own alias in a private module that may change in any release).
ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


async def reply(
    message: Message,
    text: str | OutgoingMessage,
    reply_markup: ReplyMarkup | None = None,
    *,
    quote: bool = False,
) -> Message:
    """Reply in HTML (the default parse mode), split if long; buttons go on the last part.

    The answer goes to the forum topic the message was sent in; an OutgoingMessage brings
    its own keyboard (used when reply_markup is not given) and may name another topic. With
    quote, the last part answers the message itself (a selective ForceReply then shows to
    its sender only).
    """
    bot = message.get_bot()
    assert isinstance(bot, ExtBot)
    thread_id = message.message_thread_id if message.is_topic_message else None
    if isinstance(text, OutgoingMessage):
        reply_markup = reply_markup or inline_markup(text.keyboard)
        thread_id = text.thread_id if text.thread_id is not None else thread_id
        text = text.text
    parts = split_message(text)
    for part in parts[:-1]:
        await _send(bot, message.chat_id, part, None, thread_id)
    quoted = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    return await _send(
        bot, message.chat_id, parts[-1], reply_markup, thread_id, quoted if quote else None
    )


async def send_text(bot: Bot, chat_id: int, text: str) -> Message:
    """Write to a chat unprompted (no message to answer), split if long."""
    assert isinstance(bot, ExtBot)
    parts = split_message(text)
    for part in parts[:-1]:
        await _send(bot, chat_id, part, None)
    return await _send(bot, chat_id, parts[-1], None)


async def _send(
    bot: ExtBot[Any],
    chat_id: int,
    text: str,
    reply_markup: ReplyMarkup | None,
    thread_id: int | None = None,
    quoted: ReplyParameters | None = None,
) -> Message:
    """Send one part, sitting out 429s (see retrying)."""
    return await retrying(
        chat_id,
        lambda: bot.send_message(
            chat_id,
            text,
            reply_markup=reply_markup,
            message_thread_id=thread_id,
            reply_parameters=quoted,
        ),
    )


async def retrying(chat_id: int, send: Callable[[], Awaitable[Message]]) -> Message:
    """Make the send, sitting out 429s here rather than in PTB's limiter.

    PTB's limiter pauses every request of the bot while it sleeps out one chat's
    retry_after; here only this chat waits, and its update gives up its worker slot.
    send is called again for each attempt (a file to upload is built anew).
    """
    for attempt in range(REPLY_RETRIES + 1):
        try:
            return await send()
        except RetryAfter as error:
            if attempt == REPLY_RETRIES:
                raise
            seconds = _seconds(error.retry_after)
            log.info("Telegram asked to wait %.0f s before replying to %s", seconds, chat_id)
            async with slot_released():
                await asyncio.sleep(seconds)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _seconds(wait: timedelta | float) -> float:
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
