"""Admin commands: broadcasts, feed management and health, for ADMIN_IDS only."""

import logging
import time
from collections.abc import Callable, Coroutine
from html import escape
from typing import Any
from urllib.parse import urlsplit

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import __version__
from bot.i18n import t
from bot.ingest.discovery import FeedRejected, discover_feed
from bot.render import admin as admin_text
from bot.render.callbacks import BROADCAST
from bot.services import BotApplication, Context
from handlers.broadcast import (
    PROGRESS_INTERVAL_SECONDS,
    BroadcastProgress,
    broadcast,
    broadcast_button,
)
from handlers.common import command_argument, services_of
from handlers.reply import reply

log = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("http", "https")

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
            await update.callback_query.answer(admin_text.not_allowed())
        elif update.effective_message is not None:
            await reply(update.effective_message, admin_text.not_allowed())

    return guarded


def _text(update: Update) -> str:
    message = update.effective_message
    return message.text or "" if message else ""


# Feeds


async def add_feed(update: Update, context: Context) -> None:
    """Check a URL in the background, then add the feed it is (or links to)."""
    message = update.effective_message
    if message is None:
        return
    url = command_argument(update)
    if not url:
        await reply(message, admin_text.addfeed_usage())
        return
    if urlsplit(url).scheme.lower() not in ALLOWED_SCHEMES or not urlsplit(url).hostname:
        await reply(message, t("Only http:// and https:// feed URLs can be added."))
        return
    status = await reply(message, t("Checking {url} …", url=url))
    context.application.create_task(_check_and_add(url, status, context), update=update)


async def _check_and_add(url: str, status: Message, context: Context) -> None:
    services = services_of(context)
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
    target = command_argument(update)
    if not target:
        await reply(message, admin_text.removefeed_usage())
        return
    storage = services_of(context).storage
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
    feeds = await services_of(context).storage.list_feeds()
    for text in admin_text.feed_list(feeds, time.time()):
        await reply(message, text)


async def show_stats(update: Update, context: Context) -> None:
    """Show users, subscriptions, feeds, delivery and uptime figures."""
    message = update.effective_message
    if message is None:
        return
    services = services_of(context)
    now = time.time()
    figures = await services.storage.stats(now)
    await reply(message, admin_text.stats(figures, now, services.started_at, __version__))
