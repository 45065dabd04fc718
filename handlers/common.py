"""What the subscriber-facing handler modules share: services, replies, the chat's record."""

import time

from telegram import Update

from bot.services import Context, Services
from bot.storage import User, UserStatus
from handlers.reply import ReplyMarkup, reply

AWAITING_QUERY = "awaiting_query"


def services_of(context: Context) -> Services:
    """Return the services the handlers share."""
    return context.bot_data.services


async def answer(update: Update, text: str, reply_markup: ReplyMarkup | None = None) -> None:
    """Reply to the update's message, if it has one."""
    if update.effective_message is not None:
        await reply(update.effective_message, text, reply_markup)


async def known_user(update: Update, context: Context) -> User | None:
    """Return the chat's user record, creating it on first contact.

    A user marked blocked who writes to us has evidently unblocked the bot, so they are
    active again; a paused user stays paused until /resume.
    """
    chat = update.effective_chat
    if chat is None:
        return None
    storage = services_of(context).storage
    user = await storage.get_user(chat.id)
    if user is None or user.status is UserStatus.BLOCKED:
        sender = update.effective_user
        user = await storage.register_user(
            chat.id,
            sender.username if sender else None,
            sender.first_name if sender else chat.title,
            time.time(),
        )
    return user


def command_argument(update: Update) -> str:
    """Return the text after the command, keeping quotes and commas as typed."""
    message = update.effective_message
    if message is None or not message.text:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def stop_waiting(context: Context) -> None:
    """Forget that the chat was asked for a query (any other command ends the wait)."""
    if context.chat_data is not None:
        context.chat_data.pop(AWAITING_QUERY, None)
