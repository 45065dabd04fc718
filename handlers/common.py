"""What the subscriber-facing handler modules share: services, replies, the chat's record."""

import html
import re
import time
from dataclasses import replace

from telegram import Update

from bot.render import replies
from bot.render.message import OutgoingMessage
from bot.services import Context, Services
from bot.storage import Chat, ChatSeen, ChatStatus, ChatType
from handlers.reply import ReplyMarkup, reply

# chat_data key: the message id of the question a bare /subscribe asked in the chat.
AWAITING_QUERY = "awaiting_query"
_TAGS = re.compile(r"<[^>]+>")


def services_of(context: Context) -> Services:
    """Return the services the handlers share."""
    return context.bot_data.services


async def answer(
    update: Update, text: str | OutgoingMessage, reply_markup: ReplyMarkup | None = None
) -> None:
    """Reply to the update's message, if it has one."""
    if update.effective_message is not None:
        await reply(update.effective_message, text, reply_markup)


def topic_of(update: Update) -> int | None:
    """Return the forum topic (message_thread_id) the update's message was sent in, if any."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


def chat_seen(update: Update) -> ChatSeen | None:
    """Return what the update says about its chat: type, title, username, language."""
    chat = update.effective_chat
    if chat is None:
        return None
    sender = update.effective_user
    chat_type = ChatType.of(chat.type)
    if chat_type is ChatType.PRIVATE:
        title = sender.first_name if sender else chat.first_name
        username = sender.username if sender else chat.username
    else:
        title, username = chat.title, chat.username
    language = sender.language_code if sender else None
    return ChatSeen(chat.id, chat_type, title, username, language)


async def known_chat(update: Update, context: Context) -> Chat | None:
    """Return the chat's record, creating it on first contact and keeping it current.

    A chat marked blocked that writes to us has evidently unblocked the bot, so it is
    active again; a paused chat stays paused until /resume.
    """
    seen = chat_seen(update)
    if seen is None:
        return None
    services = services_of(context)
    storage = services.storage
    chat = await storage.get_chat(seen.id)
    if chat is None or chat.status is ChatStatus.BLOCKED:
        chat = await storage.register_chat(seen, time.time())
        services.languages.seen(chat)
        return chat
    if (chat.type, chat.title, chat.username) != (seen.type, seen.title, seen.username):
        # Renamed, or a group that became a supergroup: written only when it changed.
        await storage.update_chat(seen, time.time())
        chat = replace(chat, type=seen.type, title=seen.title, username=seen.username)
    return chat


def command_argument(update: Update) -> str:
    """Return the text after the command, keeping quotes and commas as typed."""
    message = update.effective_message
    if message is None or not message.text:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def answers_question(update: Update, context: Context) -> bool:
    """Whether the message answers the question of a bare /subscribe: a reply to it, or the
    chat's very next message after it.

    Behind a load balancer the question and its answer may reach different instances: a
    reply names the question itself (as Telegram's ForceReply makes it), so any instance
    knows it; the next-message rule needs the question's id, known where it was asked, and
    cannot outlive it (any later message of the chat has a higher id), so an instance never
    takes a message for an answer after the chat moved on elsewhere.
    """
    message = update.effective_message
    if message is None:
        return False
    asked = context.chat_data.get(AWAITING_QUERY) if context.chat_data is not None else None
    if isinstance(asked, int) and message.message_id == asked + 1:
        return True
    question = message.reply_to_message
    return (
        question is not None
        and question.from_user is not None
        and question.from_user.id == context.bot.id
        and question.text == html.unescape(_TAGS.sub("", replies.ask_for_query()))
    )


def stop_waiting(context: Context) -> None:
    """Forget that the chat was asked for a query (any other command ends the wait)."""
    if context.chat_data is not None:
        context.chat_data.pop(AWAITING_QUERY, None)
