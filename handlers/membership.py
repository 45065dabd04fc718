"""The bot's own membership of a chat (blocked, unblocked; a channel's in handlers/channels.py)
and groups that became supergroups."""

import logging
import time

from telegram import ChatMember, Update

from bot.services import Context
from bot.storage import ChatStatus, ChatType
from handlers.channels import channel_membership_changed
from handlers.common import chat_seen, services_of

log = logging.getLogger(__name__)


async def membership_changed(update: Update, context: Context) -> None:
    """Mark the chat blocked when it blocks or removes the bot, active again when it unblocks
    or re-adds it.

    A pause is the chat's own choice and outlasts a block: a paused chat that blocks and
    unblocks the bot stays paused until /resume (nothing is sent to it meanwhile anyway).
    """
    change = update.my_chat_member
    if change is None:
        return
    if ChatType.of(change.chat.type) is ChatType.CHANNEL:  # rights to post, not a block
        await channel_membership_changed(update, context)
        return
    chat_id = change.chat.id
    gone = (ChatMember.BANNED, ChatMember.LEFT)
    storage = services_of(context).storage
    if change.new_chat_member.status in gone:
        changed = await storage.change_chat_status(
            chat_id, ChatStatus.BLOCKED, time.time(), only_from=[ChatStatus.ACTIVE]
        )
        log.info("Chat %s blocked or removed the bot (marked blocked: %s)", chat_id, changed)
    elif change.old_chat_member.status in gone:
        changed = await storage.change_chat_status(
            chat_id, ChatStatus.ACTIVE, time.time(), only_from=[ChatStatus.BLOCKED]
        )
        log.info("Chat %s unblocked or re-added the bot (alerts resume: %s)", chat_id, changed)


async def chat_renamed(update: Update, context: Context) -> None:
    """Keep a known group's or channel's stored title current when it is renamed."""
    seen = chat_seen(update)
    if seen is not None and await services_of(context).storage.update_chat(seen, time.time()):
        log.info("Chat %s renamed", seen.id)


async def chat_migrated(update: Update, context: Context) -> None:
    """Move a group's subscriptions when Telegram turns it into a supergroup."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    await services_of(context).subscriptions.move_chat(message.chat.id, message.migrate_to_chat_id)
    log.info("Chat %s migrated to %s", message.chat.id, message.migrate_to_chat_id)
