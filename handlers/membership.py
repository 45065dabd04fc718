"""The bot's own membership of a chat (a channel's in handlers/channels.py) and groups that
became supergroups.

my_chat_member tells the bot its new status in a chat. Whether it may post there decides
the chat's status: blocked in a private chat, removed, banned or restricted from sending in
a group, the chat stops getting alerts (marked blocked) and its pending rows are dropped;
unblocked, added back or allowed to send again, it is active again with the subscriptions
it kept. Added to a group it never was in (or after leaving), the bot introduces itself.
"""

import logging
import time

from telegram import ChatMember, ChatMemberRestricted, Update
from telegram.error import TelegramError

from bot.render import groups as texts
from bot.services import Context
from bot.storage import ChatStatus, ChatType
from handlers.channels import channel_membership_changed
from handlers.common import chat_seen, services_of
from handlers.groups import in_group
from handlers.reply import send_text

log = logging.getLogger(__name__)


def is_in_chat(member: ChatMember) -> bool:
    """Whether this status keeps the bot in the chat (restricted members may be outside)."""
    if member.status in (ChatMember.BANNED, ChatMember.LEFT):
        return False
    return not isinstance(member, ChatMemberRestricted) or member.is_member


def may_post(member: ChatMember) -> bool:
    """Whether the bot may send messages to the chat with this status."""
    if not is_in_chat(member):
        return False
    return not isinstance(member, ChatMemberRestricted) or member.can_send_messages


async def membership_changed(update: Update, context: Context) -> None:
    """Follow the bot's status in a chat: alerts stop when it may no longer post there
    (its pending rows dropped) and resume when it may again; a group that just added the
    bot gets its introduction.

    A pause is the chat's own choice and outlasts a block: a paused chat that blocks and
    unblocks the bot (or removes and re-adds it) stays paused until /resume.
    """
    change = update.my_chat_member
    if change is None:
        return
    if ChatType.of(change.chat.type) is ChatType.CHANNEL:  # rights to post, not a block
        await channel_membership_changed(update, context)
        return
    chat_id = change.chat.id
    services = services_of(context)
    services.admins.forget(chat_id)  # whoever changed the bot's status may have changed more
    old, new = change.old_chat_member, change.new_chat_member
    storage = services.storage
    if may_post(old) and not may_post(new):
        changed = await storage.change_chat_status(
            chat_id, ChatStatus.BLOCKED, time.time(), only_from=[ChatStatus.ACTIVE]
        )
        dropped = await storage.drop_pending_for_chat(chat_id, f"bot {new.status}")
        log.info(
            "Chat %s blocked, removed or muted the bot (%s; marked blocked: %s; %d pending "
            "rows dropped)",
            chat_id,
            new.status,
            changed,
            dropped,
        )
        return
    if not may_post(new) or may_post(old):
        return  # promoted, demoted, or still unable to post: alerts go on as they were
    seen = chat_seen(update)
    known = await storage.get_chat(chat_id)
    if known is None and seen is not None and in_group(update):
        services.languages.seen(await storage.register_chat(seen, time.time()))
        log.info("Added to group %s", chat_id)
    else:
        changed = await storage.change_chat_status(
            chat_id, ChatStatus.ACTIVE, time.time(), only_from=[ChatStatus.BLOCKED]
        )
        log.info(
            "Chat %s unblocked, re-added or unmuted the bot (alerts resume: %s)", chat_id, changed
        )
    if in_group(update) and not is_in_chat(old):
        try:
            await send_text(context.bot, chat_id, texts.group_introduction())
        except TelegramError as error:
            log.warning("Could not introduce the bot to group %s: %s", chat_id, error)


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
    services = services_of(context)
    await services.subscriptions.move_chat(message.chat.id, message.migrate_to_chat_id)
    services.admins.forget(message.chat.id)
    log.info("Chat %s migrated to %s", message.chat.id, message.migrate_to_chat_id)
