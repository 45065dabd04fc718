"""Subscribing and unsubscribing: commands, the removal buttons and the remove-all confirm."""

import logging

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.matching.expand import also_matches
from bot.matching.query import Query, QueryError, parse_query, split_queries
from bot.render import channels as channel_replies
from bot.render import replies
from bot.render.callbacks import REMOVE_ALL, UNSUBSCRIBE
from bot.services import Context
from bot.storage import Chat, ChatStatus, LinkedChannel, Subscription
from handlers.channel_targets import command_target
from handlers.common import (
    AWAITING_QUERY,
    answer,
    services_of,
    stop_waiting,
    topic_of,
)
from handlers.groups import in_group
from handlers.reply import reply

log = logging.getLogger(__name__)


# Keeps one command's report readable (and its work small).
MAX_QUERIES_PER_COMMAND = 20


# Telegram shows long keyboards badly; beyond this the user removes by name or number.
MAX_BUTTONS = 50


BUTTON_LABEL_LIMIT = 40


async def subscribe(update: Update, context: Context) -> None:
    """Add the comma-separated queries, or ask for them when none were given."""
    target = await command_target(update, context, takes_words=True)
    if target is None:
        return
    chat, text = target.chat, target.argument
    if not text and target.channel is not None:
        await answer(update, channel_replies.subscribe_usage(target.channel))
        return
    if not text:
        if update.effective_message is None:
            return
        # In a group the question answers the admin's command and its ForceReply is
        # selective: only that admin's app opens a reply (others' answers are not taken).
        group = in_group(update)
        question = await reply(
            update.effective_message,
            replies.ask_for_query(),
            ForceReply(
                selective=group or None,
                input_field_placeholder=t('Ukraine, "Joe Biden" -football'),
            ),
            quote=group,
        )
        if context.chat_data is not None:
            context.chat_data[AWAITING_QUERY] = question.message_id
        return
    stop_waiting(context)
    await subscribe_text(update, context, chat, text, target.channel)


async def subscribe_text(
    update: Update, context: Context, chat: Chat, text: str, channel: LinkedChannel | None = None
) -> None:
    """Subscribe the chat (or the linked channel it manages) to the comma-separated queries."""
    services = services_of(context)
    valid: list[tuple[str, str]] = []
    invalid: list[tuple[str, str]] = []
    parsed: dict[str, Query] = {}
    raw_queries = split_queries(text) or [text]
    if len(raw_queries) > MAX_QUERIES_PER_COMMAND:
        await answer(update, replies.too_many_at_once(len(raw_queries), MAX_QUERIES_PER_COMMAND))
        return
    for raw in raw_queries:
        try:
            query = parse_query(raw)
        except QueryError as error:
            invalid.append((raw, str(error)))
            continue
        if all(query.normalised != normalised for normalised, _ in valid):
            valid.append((query.normalised, query.display))
            parsed[query.normalised] = query
    limit = services.settings.max_subscriptions_per_user
    result = await services.subscriptions.add(chat.id, valid, limit, topic_of(update))
    log.info("Chat %s subscribed to %d queries", chat.id, len(result.added))
    also = [
        (s.display, also_matches(parsed[s.query].terms)) for s in result.added if s.query in parsed
    ]
    report = replies.subscribe_report(
        [s.display for s in result.added], result.existing, result.over_limit, invalid, limit, also
    )
    if chat.status is ChatStatus.PAUSED and result.added:
        note = channel_replies.still_paused(channel) if channel else None
        report += "\n\n" + (note or t("⏸ Alerts are paused: send /resume to get them."))
    await answer(update, report)


async def unsubscribe(update: Update, context: Context) -> None:
    """Remove the named queries; without one, offer buttons; "all" asks to confirm."""
    stop_waiting(context)
    target = await command_target(update, context)
    if target is None:
        return
    chat, text = target.chat, target.argument
    storage = services_of(context).storage
    subscriptions = await storage.list_subscriptions(chat.id)
    if target.channel is not None and (not text or text.casefold() == "all"):
        # The buttons act on the chat they are pressed in: a channel's are named instead.
        await answer(update, channel_replies.unsubscribe_usage(target.channel))
    elif not subscriptions:
        await answer(update, replies.nothing_to_unsubscribe())
    elif not text:
        await answer(
            update,
            replies.tap_to_remove(len(subscriptions), MAX_BUTTONS),
            reply_markup=_removal_keyboard(subscriptions),
        )
    elif text.casefold() == "all":
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t("Yes, remove all"), callback_data=REMOVE_ALL.encode(True)
                    ),
                    InlineKeyboardButton(t("Cancel"), callback_data=REMOVE_ALL.encode(False)),
                ]
            ]
        )
        await answer(
            update,
            replies.confirm_remove_all(len(subscriptions)),
            reply_markup=keyboard,
        )
    else:
        await _unsubscribe_named(update, context, chat, subscriptions, text)


async def _unsubscribe_named(
    update: Update, context: Context, chat: Chat, subscriptions: list[Subscription], text: str
) -> None:
    services = services_of(context)
    removed: list[str] = []
    missing: list[str] = []
    raw_queries = split_queries(text) or [text]
    if len(raw_queries) > MAX_QUERIES_PER_COMMAND:
        await answer(update, replies.too_many_at_once(len(raw_queries), MAX_QUERIES_PER_COMMAND))
        return
    for raw in raw_queries:
        target = find_subscription(subscriptions, raw, topic_of(update))
        deleted = await services.subscriptions.remove(chat.id, target.id) if target else None
        if deleted is None:
            missing.append(raw)
            continue
        removed.append(deleted.display)
    await answer(update, replies.unsubscribe_report(removed, missing))


def find_subscription(
    subscriptions: list[Subscription], raw: str, topic: int | None = None
) -> Subscription | None:
    """Find a subscription by its query (any spelling of it; the one in forum topic `topic`
    first, as a query may be in several) or its number in /list."""
    try:
        normalised = parse_query(raw).normalised
    except QueryError:
        normalised = None
    same = [subscription for subscription in subscriptions if subscription.query == normalised]
    if same:
        return next((s for s in same if s.thread_id == topic), same[0])
    if raw.isdigit() and 1 <= int(raw) <= len(subscriptions):
        return subscriptions[int(raw) - 1]
    return None


def _removal_keyboard(subscriptions: list[Subscription]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                "✖ " + _shorten(subscription.display),
                callback_data=UNSUBSCRIBE.encode(subscription.id),
            )
        ]
        for subscription in subscriptions[:MAX_BUTTONS]
    ]
    return InlineKeyboardMarkup(rows)


def _shorten(text: str) -> str:
    if len(text) <= BUTTON_LABEL_LIMIT:
        return text
    return text[: BUTTON_LABEL_LIMIT - 1] + "…"


async def unsubscribe_button(update: Update, context: Context) -> None:
    """Remove the tapped subscription of this chat and refresh the list of buttons."""
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None or callback.data is None:
        return
    services = services_of(context)
    subscription_id = UNSUBSCRIBE.decode(callback.data)
    deleted = (
        await services.subscriptions.remove(chat.id, subscription_id)
        if subscription_id is not None
        else None
    )
    if deleted is None:
        await callback.answer(replies.stale_button())
    else:
        await callback.answer(t("Removed {query}", query=_shorten(deleted.display)))
    remaining = await services.storage.list_subscriptions(chat.id)
    if remaining:
        text = replies.unsubscribe_report([deleted.display] if deleted else [], [])
        text = (text + "\n\n" if text else "") + replies.tap_to_remove(len(remaining), MAX_BUTTONS)
        markup: InlineKeyboardMarkup | None = _removal_keyboard(remaining)
    else:
        text = replies.removed_all(0) if deleted is None else t("Removed the last subscription.")
        markup = None
    await callback.edit_message_text(text, reply_markup=markup)


async def remove_all_button(update: Update, context: Context) -> None:
    """Remove every subscription of this chat after the confirm button, or cancel."""
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None or callback.data is None:
        return
    await callback.answer()
    if REMOVE_ALL.decode(callback.data) is not True:  # "no", or anything garbled
        await callback.edit_message_text(replies.remove_all_cancelled())
        return
    services = services_of(context)
    deleted = await services.subscriptions.remove_all(chat.id)
    log.info("User %s removed all %d subscriptions", chat.id, len(deleted))
    await callback.edit_message_text(replies.removed_all(len(deleted)))
