"""Channels as subscribers: /channel (list, add, remove), linking by a forwarded post, the
channel card's buttons, and the bot's own rights in a linked channel changing.

A channel cannot talk to the bot: an admin links it from their private chat, after making
the bot an admin that may post there; then they (and the channel's other admins) manage its
subscriptions with commands naming it (handlers/channel_targets.py).
"""

import logging
import time
from collections.abc import Callable

from telegram import ChatMember, ChatMemberAdministrator, MessageOriginChannel, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.delivery.markup import inline_markup
from bot.i18n import use_locale
from bot.render import channels as channel_replies
from bot.render import replies
from bot.render.callbacks import CHANNEL, ChannelAction
from bot.services import BotApplication, Context
from bot.storage import ChatSeen, ChatStatus, ChatType, LinkedChannel
from bot.targets import split_target
from handlers.channel_targets import managed_channel
from handlers.common import answer, command_argument, known_chat, services_of, stop_waiting

log = logging.getLogger(__name__)
# Why a channel's pending rows were dropped, as the outbox keeps it (for /stats and logs).
UNLINKED_REASON = "channel_unlinked"
CANNOT_POST_REASON = "channel_cannot_post"


class _ForwardedFromChannel(filters.MessageFilter):
    """A message forwarded from a channel (its forward_origin is the channel)."""

    def filter(self, message: object) -> bool:
        return isinstance(getattr(message, "forward_origin", None), MessageOriginChannel)


def register(app: BotApplication) -> None:
    """Add /channel, linking by a forwarded post, and the channel card's buttons."""
    app.add_handler(CommandHandler("channel", channel_command))
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & _ForwardedFromChannel(), forwarded_post)
    )
    app.add_handler(CallbackQueryHandler(channel_button, pattern=CHANNEL.pattern))


async def channel_command(update: Update, context: Context) -> None:
    """/channel: list the linked channels; /channel add @name; /channel remove @name."""
    stop_waiting(context)
    chat = await known_chat(update, context)
    if chat is None:
        return
    if chat.type is not ChatType.PRIVATE:
        await answer(update, channel_replies.private_only())
        return
    verb, _, rest = command_argument(update).partition(" ")
    verb = verb.casefold()
    target = split_target(rest)
    if not verb:
        channels = await services_of(context).storage.channels_linked_by(chat.id)
        await answer(update, channel_replies.channel_list(channels))
    elif verb in ("add", "link") and target is not None:
        await _link(update, context, target.chat_id or target.name, target.name)
    elif verb in ("remove", "unlink") and target is not None:
        channel = await managed_channel(update, context, target)
        if channel is not None:
            await _unlink(update, context, channel)
    elif verb in ("add", "link"):
        await answer(update, channel_replies.link_usage())
    else:
        await answer(update, channel_replies.channel_help())


async def forwarded_post(update: Update, context: Context) -> None:
    """A post forwarded from a channel links that channel."""
    stop_waiting(context)
    message = update.effective_message
    if message is None or not isinstance(message.forward_origin, MessageOriginChannel):
        return
    if await known_chat(update, context) is None:
        return
    origin = message.forward_origin.chat
    name = f"@{origin.username}" if origin.username else (origin.title or str(origin.id))
    await _link(update, context, origin.id, name)


async def _link(update: Update, context: Context, reference: int | str, name: str) -> None:
    """Link the channel if the bot may post there and the sender administers it."""
    services = services_of(context)
    sender = update.effective_user
    if sender is None:
        return
    try:
        info = await context.bot.get_chat(reference)
    except TelegramError as error:
        log.info("Cannot find channel %s for user %s: %s", reference, sender.id, error)
        await answer(update, channel_replies.not_found(name))
        return
    if ChatType.of(info.type) is not ChatType.CHANNEL:
        await answer(update, channel_replies.not_a_channel(name))
        return
    if not await _bot_may_post(context, info.id):
        await answer(update, channel_replies.cannot_post(info.title or name))
        return
    services.admins.forget(info.id)  # linking decides on a fresh answer
    if not await services.admins.is_admin(info.id, sender.id):
        await answer(update, channel_replies.not_an_admin(info.title or name))
        return
    seen = ChatSeen(info.id, ChatType.CHANNEL, info.title, info.username, sender.language_code)
    channel = await services.storage.link_channel(seen, sender.id, time.time())
    services.languages.seen(channel.chat)
    log.info("User %s linked channel %s", sender.id, info.id)
    await answer(update, channel_replies.linked(channel))


async def _bot_may_post(context: Context, chat_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, context.bot.id)
    except TelegramError as error:
        log.info("Cannot ask about the bot's rights in channel %s: %s", chat_id, error)
        return False
    return _may_post(member)


def _may_post(member: ChatMember) -> bool:
    """Whether this member state lets the bot post in a channel."""
    if member.status == ChatMember.OWNER:
        return True
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)


async def _unlink(update: Update, context: Context, channel: LinkedChannel) -> None:
    services = services_of(context)
    removed = await services.subscriptions.remove_all(channel.chat.id)
    await services.storage.drop_pending_for_chat(channel.chat.id, UNLINKED_REASON)
    await services.storage.unlink_channel(channel.chat.id)
    log.info("Channel %s unlinked (%d subscriptions removed)", channel.chat.id, len(removed))
    await answer(update, channel_replies.unlinked(channel, len(removed)))


async def channel_button(update: Update, context: Context) -> None:
    """Show a channel's card, or turn its Matched line on or off, for one of its admins."""
    callback = update.callback_query
    sender = update.effective_user
    if callback is None or sender is None:
        return
    services = services_of(context)
    decoded = CHANNEL.decode(callback.data)
    channel = await services.storage.get_channel(decoded[1]) if decoded else None
    if decoded is None or channel is None:
        await callback.answer(replies.stale_button())
        return
    if not await services.admins.is_admin(channel.chat.id, sender.id):
        await callback.answer(channel_replies.not_an_admin(channel_replies.handle(channel)))
        return
    action = decoded[0]
    if action is not ChannelAction.SHOW:
        shown = action is ChannelAction.SHOW_MATCHED
        await services.storage.set_channel_matched_line(channel.chat.id, shown)
        channel = await services.storage.get_channel(channel.chat.id) or channel
    await callback.answer()
    count = len(await services.storage.list_subscriptions(channel.chat.id))
    card = channel_replies.channel_card(channel, count)
    markup = inline_markup(card.keyboard)
    if action is ChannelAction.SHOW:  # the list stays; the card comes below it
        await context.bot.send_message(sender.id, card.text, reply_markup=markup)
        return
    try:
        await callback.edit_message_text(card.text, reply_markup=markup)
    except BadRequest as error:  # e.g. a repeated tap: the card already says so
        log.info("Cannot show channel %s's card in place: %s", channel.chat.id, error.message)


async def channel_membership_changed(update: Update, context: Context) -> None:
    """The bot's rights in a channel changed: a linked channel it can no longer post in stops
    (its pending rows dropped) and one it may post in again resumes; the linking admin is
    told in their private chat."""
    change = update.my_chat_member
    if change is None:
        return
    services = services_of(context)
    chat_id = change.chat.id
    services.admins.forget(chat_id)
    channel = await services.storage.get_channel(chat_id)
    if channel is None:
        log.info("Bot's rights changed in channel %s, which is not linked", chat_id)
        return
    could_post, may_post = _may_post(change.old_chat_member), _may_post(change.new_chat_member)
    now = time.time()
    # A channel its admins paused stays paused either way; its note says so.
    paused = channel.chat.status is ChatStatus.PAUSED
    if could_post and not may_post:
        await services.storage.change_chat_status(
            chat_id, ChatStatus.BLOCKED, now, only_from=[ChatStatus.ACTIVE]
        )
        dropped = await services.storage.drop_pending_for_chat(chat_id, CANNOT_POST_REASON)
        log.info("Bot can no longer post in channel %s (%d rows dropped)", chat_id, dropped)
        lost = channel_replies.posting_lost_while_paused if paused else channel_replies.posting_lost
        await _tell_linker(context, channel, lost)
    elif may_post and not could_post:
        await services.storage.change_chat_status(
            chat_id, ChatStatus.ACTIVE, now, only_from=[ChatStatus.BLOCKED]
        )
        log.info("Bot may post in channel %s again", chat_id)
        restored = (
            channel_replies.posting_restored_while_paused
            if paused
            else channel_replies.posting_restored
        )
        await _tell_linker(context, channel, restored)


async def _tell_linker(
    context: Context, channel: LinkedChannel, note: Callable[[LinkedChannel], str]
) -> None:
    """Send the note to the admin who linked the channel, in their chat's language."""
    services = services_of(context)
    locale = await services.languages.locale_of(channel.linked_by, None)
    with use_locale(locale):
        text = note(channel)
    try:
        await context.bot.send_message(channel.linked_by, text)
    except TelegramError as error:
        log.warning(
            "Cannot tell user %s about channel %s: %s", channel.linked_by, channel.chat.id, error
        )
