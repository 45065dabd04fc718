"""Subscriber commands: parse the update, call the core, reply in Telegram HTML."""

import logging
import time

from telegram import (
    BotCommand,
    ChatMember,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import t
from bot.matching.query import QueryError, parse_query, split_queries
from bot.render import replies
from bot.render.callbacks import REMOVE_ALL, UNSUBSCRIBE
from bot.services import BotApplication, Context, Services
from bot.storage import Subscription, User, UserStatus
from handlers.reply import ReplyMarkup, reply

log = logging.getLogger(__name__)

AWAITING_QUERY = "awaiting_query"
# Keeps one command's report readable (and its work small).
MAX_QUERIES_PER_COMMAND = 20
# Telegram shows long keyboards badly; beyond this the user removes by name or number.
MAX_BUTTONS = 50
BUTTON_LABEL_LIMIT = 40

SUBSCRIBER_COMMANDS = (
    BotCommand("subscribe", t("Watch for stories: /subscribe Ukraine")),
    BotCommand("unsubscribe", t("Stop watching a query")),
    BotCommand("list", t("Your subscriptions")),
    BotCommand("pause", t("Pause alerts")),
    BotCommand("resume", t("Resume alerts")),
    BotCommand("help", t("Commands and query syntax")),
)


def register(app: BotApplication) -> None:
    """Add the subscriber handlers to the application, most specific first."""
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("subscribe", subscribe))
    app.add_handler(CommandHandler("unsubscribe", unsubscribe))
    app.add_handler(CommandHandler("list", list_subscriptions))
    app.add_handler(CommandHandler("pause", pause))
    app.add_handler(CommandHandler("resume", resume))
    app.add_handler(CallbackQueryHandler(unsubscribe_button, pattern=UNSUBSCRIBE.pattern))
    app.add_handler(CallbackQueryHandler(remove_all_button, pattern=REMOVE_ALL.pattern))
    app.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated))


def register_fallbacks(app: BotApplication) -> None:
    """Add the catch-all handlers; call after every other module registered its commands."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, free_text))


def _services(context: Context) -> Services:
    return context.bot_data.services


async def _reply(update: Update, text: str, reply_markup: ReplyMarkup | None = None) -> None:
    if update.effective_message is not None:
        await reply(update.effective_message, text, reply_markup)


async def _known_user(update: Update, context: Context) -> User | None:
    """Return the chat's user record, creating it on first contact.

    A user marked blocked who writes to us has evidently unblocked the bot, so they are
    active again; a paused user stays paused until /resume.
    """
    chat = update.effective_chat
    if chat is None:
        return None
    storage = _services(context).storage
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


async def start(update: Update, context: Context) -> None:
    """Register the user (active again if paused or blocked) and greet them."""
    chat = update.effective_chat
    if chat is None:
        return
    _stop_waiting(context)
    sender = update.effective_user
    storage = _services(context).storage
    await storage.register_user(
        chat.id,
        sender.username if sender else None,
        sender.first_name if sender else chat.title,
        time.time(),
    )
    count = len(await storage.list_subscriptions(chat.id))
    await _reply(update, replies.welcome(sender.first_name if sender else None, count))


async def help_command(update: Update, context: Context) -> None:
    """Explain the commands and the query syntax."""
    _stop_waiting(context)
    await _reply(update, replies.HELP)


async def subscribe(update: Update, context: Context) -> None:
    """Add the comma-separated queries, or ask for them when none were given."""
    user = await _known_user(update, context)
    if user is None:
        return
    text = _command_argument(update)
    if not text:
        if context.chat_data is not None:
            context.chat_data[AWAITING_QUERY] = True
        await _reply(
            update,
            replies.ASK_FOR_QUERY,
            reply_markup=ForceReply(input_field_placeholder=t('Ukraine, "Joe Biden" -football')),
        )
        return
    _stop_waiting(context)
    await _subscribe_text(update, context, user, text)


async def _subscribe_text(update: Update, context: Context, user: User, text: str) -> None:
    services = _services(context)
    valid: list[tuple[str, str]] = []
    invalid: list[tuple[str, str]] = []
    raw_queries = split_queries(text) or [text]
    if len(raw_queries) > MAX_QUERIES_PER_COMMAND:
        await _reply(update, replies.too_many_at_once(len(raw_queries), MAX_QUERIES_PER_COMMAND))
        return
    for raw in raw_queries:
        try:
            query = parse_query(raw)
        except QueryError as error:
            invalid.append((raw, str(error)))
            continue
        if all(query.normalised != normalised for normalised, _ in valid):
            valid.append((query.normalised, query.display))
    limit = services.settings.max_subscriptions_per_user
    result = await services.subscriptions.add(user.id, valid, limit)
    log.info("User %s subscribed to %d queries", user.id, len(result.added))
    report = replies.subscribe_report(
        [s.display for s in result.added], result.existing, result.over_limit, invalid, limit
    )
    if user.status is UserStatus.PAUSED and result.added:
        report += "\n\n" + t("⏸ Alerts are paused: send /resume to get them.")
    await _reply(update, report)


async def unsubscribe(update: Update, context: Context) -> None:
    """Remove the named queries; without one, offer buttons; "all" asks to confirm."""
    _stop_waiting(context)
    user = await _known_user(update, context)
    if user is None:
        return
    storage = _services(context).storage
    subscriptions = await storage.list_subscriptions(user.id)
    text = _command_argument(update)
    if not subscriptions:
        await _reply(update, replies.NOTHING_TO_UNSUBSCRIBE)
    elif not text:
        await _reply(
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
        await _reply(
            update,
            replies.confirm_remove_all(len(subscriptions)),
            reply_markup=keyboard,
        )
    else:
        await _unsubscribe_named(update, context, user, subscriptions, text)


async def _unsubscribe_named(
    update: Update, context: Context, user: User, subscriptions: list[Subscription], text: str
) -> None:
    services = _services(context)
    removed: list[str] = []
    missing: list[str] = []
    raw_queries = split_queries(text) or [text]
    if len(raw_queries) > MAX_QUERIES_PER_COMMAND:
        await _reply(update, replies.too_many_at_once(len(raw_queries), MAX_QUERIES_PER_COMMAND))
        return
    for raw in raw_queries:
        target = _find_subscription(subscriptions, raw)
        deleted = await services.subscriptions.remove(user.id, target.id) if target else None
        if deleted is None:
            missing.append(raw)
            continue
        removed.append(deleted.display)
    await _reply(update, replies.unsubscribe_report(removed, missing))


def _find_subscription(subscriptions: list[Subscription], raw: str) -> Subscription | None:
    """Find a subscription by its query (any spelling of it) or its number in /list."""
    try:
        normalised = parse_query(raw).normalised
    except QueryError:
        normalised = None
    for subscription in subscriptions:
        if subscription.query == normalised:
            return subscription
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
    services = _services(context)
    subscription_id = UNSUBSCRIBE.decode(callback.data)
    deleted = (
        await services.subscriptions.remove(chat.id, subscription_id)
        if subscription_id is not None
        else None
    )
    if deleted is None:
        await callback.answer(replies.STALE_BUTTON)
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
        await callback.edit_message_text(replies.REMOVE_ALL_CANCELLED)
        return
    services = _services(context)
    deleted = await services.subscriptions.remove_all(chat.id)
    log.info("User %s removed all %d subscriptions", chat.id, len(deleted))
    await callback.edit_message_text(replies.removed_all(len(deleted)))


async def list_subscriptions(update: Update, context: Context) -> None:
    """List the user's subscriptions, numbered."""
    _stop_waiting(context)
    user = await _known_user(update, context)
    if user is None:
        return
    subscriptions = await _services(context).storage.list_subscriptions(user.id)
    await _reply(
        update,
        replies.subscription_list(
            [s.display for s in subscriptions], user.status is UserStatus.PAUSED
        ),
    )


async def pause(update: Update, context: Context) -> None:
    """Turn alerts off, keeping subscriptions."""
    _stop_waiting(context)
    user = await _known_user(update, context)
    if user is None:
        return
    if user.status is UserStatus.PAUSED:
        await _reply(update, replies.ALREADY_PAUSED)
        return
    storage = _services(context).storage
    await storage.set_user_status(user.id, UserStatus.PAUSED, time.time())
    count = len(await storage.list_subscriptions(user.id))
    await _reply(update, replies.paused(count))


async def resume(update: Update, context: Context) -> None:
    """Turn alerts back on."""
    _stop_waiting(context)
    user = await _known_user(update, context)
    if user is None:
        return
    if user.status is UserStatus.ACTIVE:
        await _reply(update, replies.NOT_PAUSED)
        return
    await _services(context).storage.set_user_status(user.id, UserStatus.ACTIVE, time.time())
    await _reply(update, replies.RESUMED)


async def unknown_command(update: Update, context: Context) -> None:
    """Point an unknown command towards /help."""
    _stop_waiting(context)
    await _reply(update, replies.UNKNOWN_COMMAND)


async def free_text(update: Update, context: Context) -> None:
    """Take the answer to a bare /subscribe, or hint towards /help."""
    message = update.effective_message
    waiting = context.chat_data is not None and context.chat_data.pop(AWAITING_QUERY, False)
    if not waiting or message is None or not message.text:
        await _reply(update, replies.FREE_TEXT_HINT)
        return
    user = await _known_user(update, context)
    if user is not None:
        await _subscribe_text(update, context, user, message.text)


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
    storage = _services(context).storage
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
    await _services(context).subscriptions.move_chat(message.chat.id, message.migrate_to_chat_id)
    log.info("Chat %s migrated to %s", message.chat.id, message.migrate_to_chat_id)


def _command_argument(update: Update) -> str:
    """Return the text after the command, keeping quotes and commas as typed."""
    message = update.effective_message
    if message is None or not message.text:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def _stop_waiting(context: Context) -> None:
    if context.chat_data is not None:
        context.chat_data.pop(AWAITING_QUERY, None)
