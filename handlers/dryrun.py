"""The dry run: /try <query> answers what the query would have matched in the last week."""

import logging
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.dryrun import dry_run
from bot.matching.query import QueryError, parse_query, split_queries
from bot.render import dryrun as texts
from bot.render.callbacks import TRY_SUBSCRIBE, CallbackDataTooLong
from bot.services import BotApplication, Context
from handlers.common import answer, command_argument, known_chat, services_of, stop_waiting
from handlers.groups import admins_only
from handlers.subscriptions import subscribe_text

log = logging.getLogger(__name__)


def register(app: BotApplication) -> None:
    """Add /try and its subscribe button."""
    app.add_handler(CommandHandler("try", try_command))
    # Anyone may try a query; subscribing the group to it is for its admins.
    app.add_handler(
        CallbackQueryHandler(admins_only(subscribe_button), pattern=TRY_SUBSCRIBE.pattern)
    )


async def try_command(update: Update, context: Context) -> None:
    """Run the query over the past week's stories; store nothing."""
    stop_waiting(context)
    chat = await known_chat(update, context)
    if chat is None:
        return
    text = command_argument(update)
    if not text:
        await answer(update, texts.try_usage())
        return
    if len(split_queries(text)) > 1:
        await answer(update, texts.one_query_at_a_time())
        return
    try:
        query = parse_query(text)
    except QueryError as error:
        await answer(update, texts.try_refused(" ".join(text.split()), str(error)))
        return
    services = services_of(context)
    result = await dry_run(services.storage, query, time.time())
    subscriptions = await services.storage.list_subscriptions(chat.id)
    subscribed = any(s.query == query.normalised for s in subscriptions)
    log.info("Chat %s tried a query: %d matches", chat.id, result.matched)
    report = texts.dry_run_report(
        query.display, result.matched, result.days, result.newest, subscribed=subscribed
    )
    await answer(update, report, reply_markup=None if subscribed else _keyboard(query.display))


def _keyboard(display: str) -> InlineKeyboardMarkup | None:
    """A button that subscribes to the query, when its text fits in callback data."""
    try:
        data = TRY_SUBSCRIBE.encode(display)
    except CallbackDataTooLong:
        return None  # the answer still shows the query: /subscribe takes it as typed
    button = InlineKeyboardButton(texts.subscribe_button_label(display), callback_data=data)
    return InlineKeyboardMarkup([[button]])


async def subscribe_button(update: Update, context: Context) -> None:
    """Subscribe to the tried query, exactly as /subscribe with it would."""
    callback = update.callback_query
    if callback is None:
        return
    await callback.answer()
    chat = await known_chat(update, context)
    query = TRY_SUBSCRIBE.decode(callback.data)
    if chat is None or query is None:
        return
    await callback.edit_message_reply_markup(reply_markup=None)
    await subscribe_text(update, context, chat, query)
