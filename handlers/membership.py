"""The bot's own membership of a chat (blocked, unblocked) and groups that became supergroups."""

import logging
import time

from telegram import ChatMember, Update

from bot.services import Context
from bot.storage import UserStatus
from handlers.common import services_of

log = logging.getLogger(__name__)


async def membership_changed(update: Update, context: Context) -> None:
    """Mark the user blocked when they block the bot, active again when they unblock it.

    A pause is the user's own choice and outlasts a block: a paused user who blocks and
    unblocks the bot stays paused until /resume (nothing is sent to them meanwhile anyway).
    """
    change = update.my_chat_member
    if change is None:
        return
    chat_id = change.chat.id
    gone = (ChatMember.BANNED, ChatMember.LEFT)
    storage = services_of(context).storage
    if change.new_chat_member.status in gone:
        changed = await storage.change_user_status(
            chat_id, UserStatus.BLOCKED, time.time(), only_from=[UserStatus.ACTIVE]
        )
        log.info("Chat %s blocked or removed the bot (marked blocked: %s)", chat_id, changed)
    elif change.old_chat_member.status in gone:
        changed = await storage.change_user_status(
            chat_id, UserStatus.ACTIVE, time.time(), only_from=[UserStatus.BLOCKED]
        )
        log.info("Chat %s unblocked or re-added the bot (alerts resume: %s)", chat_id, changed)


async def chat_migrated(update: Update, context: Context) -> None:
    """Move a group's subscriptions when Telegram turns it into a supergroup."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    await services_of(context).subscriptions.move_chat(message.chat.id, message.migrate_to_chat_id)
    log.info("Chat %s migrated to %s", message.chat.id, message.migrate_to_chat_id)
