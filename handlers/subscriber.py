"""Subscriber commands: parse the update, call the core, reply in Telegram HTML."""

import logging
import time

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.render import channels as channel_replies
from bot.render import replies
from bot.render.callbacks import LANGUAGE, REMOVE_ALL, UNSUBSCRIBE
from bot.services import BotApplication, Context
from bot.storage import ChatStatus
from handlers.channel_targets import command_target
from handlers.common import (
    answer,
    answers_question,
    chat_seen,
    known_chat,
    services_of,
    stop_waiting,
)
from handlers.groups import (
    addressed_elsewhere,
    addressed_to_us,
    admins_only,
    in_group,
    may_manage,
)
from handlers.language import language_button, language_command
from handlers.membership import chat_migrated, chat_renamed, membership_changed
from handlers.menus import set_chat_menu
from handlers.subscriptions import (
    remove_all_button,
    subscribe,
    subscribe_text,
    unsubscribe,
    unsubscribe_button,
)
from handlers.tuning import list_message

log = logging.getLogger(__name__)


def register(app: BotApplication) -> None:
    """Add the subscriber handlers to the application, most specific first."""
    # In a group, what changes the group's alerts is for its admins (handlers/groups.py).
    app.add_handler(CommandHandler("start", admins_only(start)))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("subscribe", admins_only(subscribe)))
    app.add_handler(CommandHandler("unsubscribe", admins_only(unsubscribe)))
    app.add_handler(CommandHandler("list", list_subscriptions))
    app.add_handler(CommandHandler("pause", admins_only(pause)))
    app.add_handler(CommandHandler("resume", admins_only(resume)))
    app.add_handler(CommandHandler("language", admins_only(language_command)))
    app.add_handler(
        CallbackQueryHandler(admins_only(unsubscribe_button), pattern=UNSUBSCRIBE.pattern)
    )
    app.add_handler(
        CallbackQueryHandler(admins_only(remove_all_button), pattern=REMOVE_ALL.pattern)
    )
    app.add_handler(CallbackQueryHandler(admins_only(language_button), pattern=LANGUAGE.pattern))
    app.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated))
    app.add_handler(MessageHandler(filters.StatusUpdate.NEW_CHAT_TITLE, chat_renamed))


def register_fallbacks(app: BotApplication) -> None:
    """Add the catch-all handlers; call after every other module registered its commands."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, free_text))


async def start(update: Update, context: Context) -> None:
    """Register the chat (active again if paused or blocked) and greet the sender."""
    seen = chat_seen(update)
    if seen is None:
        return
    stop_waiting(context)
    sender = update.effective_user
    services = services_of(context)
    chat = await services.storage.register_chat(seen, time.time())
    services.languages.seen(chat)
    count = len(await services.storage.list_subscriptions(seen.id))
    await answer(update, replies.welcome(sender.first_name if sender else None, count))
    if chat.id in services.settings.admin_ids:
        # An admin's menu, set at start before their language was known, in it now.
        await set_chat_menu(context.bot, chat.id, admin=True)


async def help_command(update: Update, context: Context) -> None:
    """Explain the commands and the query syntax."""
    stop_waiting(context)
    await answer(update, replies.help_text())


async def list_subscriptions(update: Update, context: Context) -> None:
    """List the chat's subscriptions, numbered, then its muted queries and hidden sources
    with buttons to undo them."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    await answer(update, await list_message(services_of(context), target.chat))


async def pause(update: Update, context: Context) -> None:
    """Turn alerts off, keeping subscriptions."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    chat = target.chat
    channel = target.channel
    if chat.status is ChatStatus.PAUSED:
        await answer(
            update, channel_replies.still_paused(channel) if channel else replies.already_paused()
        )
        return
    storage = services_of(context).storage
    await storage.set_chat_status(chat.id, ChatStatus.PAUSED, time.time())
    count = len(await storage.list_subscriptions(chat.id))
    await answer(update, channel_replies.paused(channel) if channel else replies.paused(count))


async def resume(update: Update, context: Context) -> None:
    """Turn alerts back on (a channel only where the bot may post)."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    chat = target.chat
    if target.channel is not None and chat.status is ChatStatus.BLOCKED:
        await answer(update, channel_replies.cannot_post(channel_replies.title(target.channel)))
        return
    if chat.status is ChatStatus.ACTIVE:
        await answer(update, replies.not_paused())
        return
    await services_of(context).storage.set_chat_status(chat.id, ChatStatus.ACTIVE, time.time())
    await answer(update, replies.resumed())


async def unknown_command(update: Update, context: Context) -> None:
    """Point an unknown command towards /help; in a group only one addressed to this bot
    (a bare /command there may be another bot's), and never one naming another bot."""
    if addressed_elsewhere(update, context):
        return
    if in_group(update) and not addressed_to_us(update, context):
        return
    stop_waiting(context)
    await answer(update, replies.unknown_command())


async def free_text(update: Update, context: Context) -> None:
    """Take the answer to a bare /subscribe, or hint towards /help (in a private chat: a
    group's talk is not addressed to the bot, and there only an admin's answer counts)."""
    message = update.effective_message
    waiting = answers_question(update, context)
    if in_group(update) and waiting and not await may_manage(update, context):
        return  # group talk, not the admin's answer: the question stays open for it
    stop_waiting(context)
    if not waiting or message is None or not message.text:
        if not in_group(update):
            await answer(update, replies.free_text_hint())
        return
    chat = await known_chat(update, context)
    if chat is not None:
        await subscribe_text(update, context, chat, message.text)
