"""Admin commands: broadcasts, feed management and health, for ADMIN_IDS only."""

import logging
import time
from collections.abc import Callable, Coroutine
from html import escape
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import __version__
from bot.i18n import t
from bot.ingest.discovery import FeedRejected, discover_feed
from bot.render import admin as admin_text
from bot.render.callbacks import BROADCAST, BroadcastAction
from bot.render.html import TELEGRAM_TEXT_LIMIT, utf16_len
from bot.services import BotApplication, Context, Services
from bot.storage import Broadcast, BroadcastStatus
from handlers.reply import reply
from handlers.subscriber import SUBSCRIBER_COMMANDS

log = logging.getLogger(__name__)

# Progress edits: often enough to reassure, rarely enough for Telegram's edit limits.
PROGRESS_INTERVAL_SECONDS = 3.0
ALLOWED_SCHEMES = ("http", "https")

ADMIN_COMMANDS = (
    BotCommand("broadcast", t("Announce something to every subscriber")),
    BotCommand("addfeed", t("Watch a new feed: /addfeed URL")),
    BotCommand("removefeed", t("Stop watching a feed: /removefeed URL or number")),
    BotCommand("feeds", t("All feeds and their health")),
    BotCommand("stats", t("Users, subscriptions, feeds and delivery figures")),
)

Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def register(app: BotApplication) -> None:
    """Add the admin handlers and the broadcast progress job."""
    app.add_handler(CommandHandler("broadcast", admin_only(broadcast)))
    app.add_handler(CommandHandler("addfeed", admin_only(add_feed)))
    app.add_handler(CommandHandler("removefeed", admin_only(remove_feed)))
    app.add_handler(CommandHandler("feeds", admin_only(list_feeds)))
    app.add_handler(CommandHandler("stats", admin_only(show_stats)))
    app.add_handler(CallbackQueryHandler(admin_only(broadcast_button), pattern=BROADCAST.pattern))
    progress = BroadcastProgress()
    assert app.job_queue is not None
    app.job_queue.run_repeating(
        progress.tick,
        interval=PROGRESS_INTERVAL_SECONDS,
        first=PROGRESS_INTERVAL_SECONDS,
        name="broadcast progress",
        # APScheduler drops a run late by over 1 s by default; a late report is still due.
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )


async def set_admin_menus(bot: Bot, admin_ids: frozenset[int]) -> None:
    """Show admin commands in each admin's own menu; subscribers' menus stay unchanged."""
    for admin_id in sorted(admin_ids):
        try:
            await bot.set_my_commands(
                [*SUBSCRIBER_COMMANDS, *ADMIN_COMMANDS], scope=BotCommandScopeChat(admin_id)
            )
        except BadRequest as error:
            log.warning(
                "Cannot set the admin menu of %s (has it started the bot?): %s",
                admin_id,
                error.message,
            )


def admin_only(handler: Handler) -> Handler:
    """Run handler for admins; anyone else gets a short refusal, and the attempt is logged."""

    async def guarded(update: Update, context: Context) -> None:
        user = update.effective_user
        if user is not None and user.id in context.bot_data.services.settings.admin_ids:
            await handler(update, context)
            return
        attempted = update.callback_query.data if update.callback_query else _text(update)
        log.warning(
            "Refused admin action by non-admin %s: %.60s", user.id if user else "unknown", attempted
        )
        if update.callback_query is not None:
            await update.callback_query.answer(admin_text.NOT_ALLOWED)
        elif update.effective_message is not None:
            await reply(update.effective_message, admin_text.NOT_ALLOWED)

    return guarded


def _services(context: Context) -> Services:
    return context.bot_data.services


def _text(update: Update) -> str:
    message = update.effective_message
    return message.text or "" if message else ""


def _argument(update: Update) -> str:
    parts = _text(update).split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


# Broadcasts


async def broadcast(update: Update, context: Context) -> None:
    """Preview an announcement with its recipient count and Confirm / Cancel buttons."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    content = _broadcast_content(message, user.id)
    if isinstance(content, str):
        await reply(message, content)
        return
    html, plain = content
    if utf16_len(plain) > TELEGRAM_TEXT_LIMIT:
        await reply(message, admin_text.broadcast_too_long(utf16_len(plain)))
        return
    storage = _services(context).storage
    draft = await storage.create_broadcast(user.id, html, time.time())
    await reply(message, html)
    recipients = await storage.count_active_users()
    buttons = [
        InlineKeyboardButton(
            t("Cancel"), callback_data=BROADCAST.encode((BroadcastAction.CANCEL, draft.id))
        )
    ]
    if recipients:
        buttons.insert(
            0,
            InlineKeyboardButton(
                t("Send to {count}", count=recipients),
                callback_data=BROADCAST.encode((BroadcastAction.CONFIRM, draft.id)),
            ),
        )
    await reply(
        message,
        admin_text.broadcast_confirmation(recipients),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


def _broadcast_content(message: Message, admin_id: int) -> tuple[str, str] | str:
    """Return (html, plain text) to broadcast, or the reply explaining what is wrong."""
    reply = message.reply_to_message
    if reply is not None and not _argument_of(message):
        if reply.from_user is None or reply.from_user.id != admin_id:
            return admin_text.BROADCAST_NOT_YOURS
        if reply.text:
            return reply.text_html, reply.text
        if reply.caption:
            return reply.caption_html, reply.caption
        return admin_text.BROADCAST_USAGE
    plain = _argument_of(message)
    if not plain:
        return admin_text.BROADCAST_USAGE
    html_parts = message.text_html.split(maxsplit=1)
    return html_parts[1].strip(), plain


def _argument_of(message: Message) -> str:
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def broadcast_button(update: Update, context: Context) -> None:
    """Send (only for the admin who wrote it, only once) or cancel a previewed broadcast."""
    callback = update.callback_query
    if callback is None or callback.data is None or callback.message is None:
        return
    pressed = BROADCAST.decode(callback.data)
    action = pressed[0] if pressed else None
    services = _services(context)
    draft = await services.storage.get_broadcast(pressed[1]) if pressed else None
    if draft is None or draft.admin_id != callback.from_user.id:
        await callback.answer(t("Only the admin who wrote this broadcast can send or cancel it."))
        return
    if draft.status is not BroadcastStatus.DRAFT:
        await callback.answer(admin_text.broadcast_already(draft.status))
        return
    if action is BroadcastAction.CANCEL:
        if await services.storage.cancel_broadcast(draft.id, draft.admin_id):
            await callback.answer(t("Cancelled"))
            await callback.edit_message_text(admin_text.BROADCAST_CANCELLED)
        return
    status = callback.message
    recipients = await services.storage.confirm_broadcast(
        draft.id,
        draft.admin_id,
        time.time(),
        status_chat_id=status.chat.id,
        status_message_id=status.message_id,
    )
    if recipients is None:  # a second tap raced the first
        await callback.answer(t("This broadcast is already on its way."))
        return
    log.info("Admin %s confirmed broadcast %s to %d users", draft.admin_id, draft.id, recipients)
    await callback.answer(t("Sending to {count}", count=recipients))
    await callback.edit_message_text(admin_text.broadcast_progress(recipients, {}, finished=False))
    if services.delivery is not None:
        services.delivery.notify()


class BroadcastProgress:
    """Edits each running broadcast's status message until its final report."""

    def __init__(self) -> None:
        self._shown: dict[int, str] = {}

    async def tick(self, context: Context) -> None:
        """Update every broadcast in progress (a JobQueue callback)."""
        storage = _services(context).storage
        for running in await storage.broadcasts_in_progress():
            counts = await storage.broadcast_progress(running.id)
            finished = counts.get("pending", 0) == 0
            text = admin_text.broadcast_progress(running.recipients, counts, finished=finished)
            await self._show(context.bot, running, text)
            if finished:
                await storage.finish_broadcast(running.id, time.time())
                self._shown.pop(running.id, None)
                log.info("Broadcast %s finished: %s", running.id, counts)

    async def _show(self, bot: Bot, running: Broadcast, text: str) -> None:
        if running.status_chat_id is None or running.status_message_id is None:
            return
        if self._shown.get(running.id) == text:
            return
        try:
            await bot.edit_message_text(
                text, chat_id=running.status_chat_id, message_id=running.status_message_id
            )
        except TelegramError as error:  # progress is informative; delivery goes on regardless
            log.warning("Cannot update broadcast %s status: %s", running.id, error)
        self._shown[running.id] = text


# Feeds


async def add_feed(update: Update, context: Context) -> None:
    """Check a URL in the background, then add the feed it is (or links to)."""
    message = update.effective_message
    if message is None:
        return
    url = _argument(update)
    if not url:
        await reply(message, admin_text.ADDFEED_USAGE)
        return
    if urlsplit(url).scheme.lower() not in ALLOWED_SCHEMES or not urlsplit(url).hostname:
        await reply(message, t("Only http:// and https:// feed URLs can be added."))
        return
    status = await reply(message, t("Checking {url} …", url=url))
    context.application.create_task(_check_and_add(url, status, context), update=update)


async def _check_and_add(url: str, status: Message, context: Context) -> None:
    services = _services(context)
    try:
        found = await discover_feed(url, services.fetcher, services.parsers)
    except FeedRejected as rejection:
        await status.edit_text(t("❌ Not added: {reason}", reason=escape(str(rejection))))
        return
    feeds = await services.storage.list_feeds()
    for number, feed in enumerate(feeds, 1):
        if feed.url == found.url:
            await status.edit_text(admin_text.feed_already_present(feed, number))
            return
    await services.storage.add_feed(found.url, time.time(), trusted=False, title=found.title)
    log.info("Admin added feed %s", found.url)
    await status.edit_text(
        admin_text.feed_added(found.title, found.url, found.entries, found.found_on_page)
    )


async def remove_feed(update: Update, context: Context) -> None:
    """Stop watching a feed given by URL or by its number in /feeds."""
    message = update.effective_message
    if message is None:
        return
    target = _argument(update)
    if not target:
        await reply(message, admin_text.REMOVEFEED_USAGE)
        return
    storage = _services(context).storage
    feeds = await storage.list_feeds()
    chosen = next((feed for feed in feeds if feed.url == target), None)
    if chosen is None and target.isdigit() and 1 <= int(target) <= len(feeds):
        chosen = feeds[int(target) - 1]
    if chosen is None:
        await reply(message, t("No feed {feed}. See the numbers with /feeds.", feed=escape(target)))
        return
    await storage.remove_feed(chosen.id)
    log.info("Admin removed feed %s", chosen.url)
    await reply(message, admin_text.feed_removed(chosen))


async def list_feeds(update: Update, context: Context) -> None:
    """List every feed with its health."""
    message = update.effective_message
    if message is None:
        return
    feeds = await _services(context).storage.list_feeds()
    for text in admin_text.feed_list(feeds, time.time()):
        await reply(message, text)


async def show_stats(update: Update, context: Context) -> None:
    """Show users, subscriptions, feeds, delivery and uptime figures."""
    message = update.effective_message
    if message is None:
        return
    services = _services(context)
    now = time.time()
    figures = await services.storage.stats(now)
    await reply(message, admin_text.stats(figures, now, services.started_at, __version__))
