"""The chat a command acts on: the chat it was sent in, or a linked channel it names.

In a private chat, "/subscribe @NewsDesk Ukraine" acts on the channel @NewsDesk when it is
linked and the sender administers it (bot.targets parses the name; services.admins asks
Telegram, briefly cached). Anywhere else, and without a name, a command acts on its own chat.
"""

from dataclasses import dataclass

from telegram import Update

from bot.render import channels as channel_replies
from bot.services import Context
from bot.storage import Chat, ChatType, LinkedChannel
from bot.targets import Target, split_target
from handlers.common import answer, command_argument, known_chat, services_of


@dataclass(frozen=True)
class CommandTarget:
    """The chat a command acts on, the rest of its argument, and the channel if it is one."""

    chat: Chat
    argument: str
    channel: LinkedChannel | None = None


async def command_target(
    update: Update, context: Context, *, takes_words: bool = False
) -> CommandTarget | None:
    """Return what the command acts on; None (the person was told why) when it names a
    channel that is not linked or that they do not administer. A command that takes_words
    (/subscribe) adds, for a name no channel is linked by, how to watch for the word."""
    chat = await known_chat(update, context)
    if chat is None:
        return None
    argument = command_argument(update)
    target = split_target(argument) if chat.type is ChatType.PRIVATE else None
    if target is None:
        return CommandTarget(chat, argument)
    channel = await managed_channel(update, context, target, takes_words=takes_words)
    if channel is None:
        return None
    return CommandTarget(channel.chat, target.rest, channel)


async def managed_channel(
    update: Update, context: Context, target: Target, *, takes_words: bool = False
) -> LinkedChannel | None:
    """Return the linked channel the target names if the sender administers it; else tell
    them why not and return None."""
    services = services_of(context)
    if target.chat_id is not None:
        channel = await services.storage.get_channel(target.chat_id)
    else:
        channel = await services.storage.channel_by_username(target.username)
    sender = update.effective_user
    if channel is None:
        # "/subscribe @elonmusk" may mean the word: say how, beside how to link a channel.
        word = target.username if takes_words and target.username else None
        await answer(update, channel_replies.not_linked(target.name, word))
        return None
    if sender is None or not await services.admins.is_admin(channel.chat.id, sender.id):
        await answer(update, channel_replies.not_an_admin(target.name))
        return None
    return channel
