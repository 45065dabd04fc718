"""Groups and supergroups: who may change a group's alerts, and what the bot ignores there.

In a private chat the person is the chat, so anything goes. In a group or supergroup the
commands that change what the group gets (subscriptions, pause, schedule, language, the
buttons that do the same) are for its admins: the sender's status comes from getChatMember
through services.admins (cached briefly); an anonymous admin writes as the group itself
(sender_chat is the group) and counts as one. Anyone else gets a short refusal and nothing
changes. Commands addressed to another bot (/list@otherbot) are not ours to answer.
"""

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.render import groups as texts
from bot.services import Context
from bot.storage import ChatType
from handlers.common import answer, services_of

log = logging.getLogger(__name__)

Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]
GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


def in_group(update: Update) -> bool:
    """Whether the update comes from a group or supergroup."""
    chat = update.effective_chat
    return chat is not None and ChatType.of(chat.type) in GROUP_TYPES


async def may_manage(update: Update, context: Context) -> bool:
    """Whether the update's sender may change its chat's alerts.

    Private chats: yes. A message sent on behalf of the chat itself (an anonymous group
    admin, a channel's own post): yes. Otherwise the sender must administer the chat.
    """
    chat = update.effective_chat
    if chat is None:
        return False
    if ChatType.of(chat.type) is ChatType.PRIVATE:
        return True
    # A button press comes from a person; only a message can be sent as the chat.
    message = None if update.callback_query is not None else update.effective_message
    sender_chat = message.sender_chat if message is not None else None
    if sender_chat is not None and sender_chat.id == chat.id:
        return True
    user = update.effective_user
    if user is None:
        return False
    return await services_of(context).admins.is_admin(chat.id, user.id)


def admins_only(handler: Handler) -> Handler:
    """Run the handler for those who may manage the chat; refuse anyone else politely."""

    @functools.wraps(handler)
    async def gated(update: Update, context: Context) -> None:
        if await may_manage(update, context):
            await handler(update, context)
            return
        await refuse(update)

    return gated


async def refuse(update: Update) -> None:
    """Tell a group member who is not an admin that the command is for admins."""
    chat, user = update.effective_chat, update.effective_user
    log.info(
        "Refused a change to chat %s from user %s: not an admin",
        chat.id if chat else None,
        user.id if user else None,
    )
    if update.callback_query is not None:
        await update.callback_query.answer(texts.admins_only(), show_alert=True)
    else:
        await answer(update, texts.admins_only())


def _addressee(update: Update) -> str | None:
    """The bot a command names (/list@otherbot: "otherbot"), folded; None if it names none."""
    message = update.effective_message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    _, at, username = message.text.split(maxsplit=1)[0].partition("@")
    return username.casefold() if at else None


def addressed_elsewhere(update: Update, context: Context) -> bool:
    """Whether the message's command names another bot (/list@otherbot)."""
    addressee = _addressee(update)
    return addressee is not None and addressee != (context.bot.username or "").casefold()


def addressed_to_us(update: Update, context: Context) -> bool:
    """Whether the message's command names this bot (/help@newshound_bot)."""
    return _addressee(update) == (context.bot.username or "").casefold()
