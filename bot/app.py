"""Composition root: open storage, build the Application, wire handlers and jobs, run."""

import asyncio
import logging
import time

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ContextTypes, Defaults

from bot import replies
from bot.config import Settings
from bot.matcher import SubscriptionIndex
from bot.services import BotApplication, BotData, Context, Services
from bot.storage import Storage
from handlers import subscriber

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
LONG_POLL_TIMEOUT_SECONDS = 30
# A 429 on a reply is retried after Telegram's retry_after instead of failing the handler.
RATE_LIMITER_RETRIES = 3


def build_application(settings: Settings) -> BotApplication:
    """Build the PTB Application with every handler registered, not yet started."""
    app = (
        Application.builder()
        .token(settings.bot_token)
        .base_url(settings.bot_base_url)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMITER_RETRIES))
        .context_types(ContextTypes(bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .build()
    )
    subscriber.register(app)
    subscriber.register_fallbacks(app)
    app.add_error_handler(on_error)
    return app


async def on_error(update: object, context: Context) -> None:
    """Log any unhandled handler error and tell the user something went wrong."""
    log.error("Error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        await update.effective_message.reply_text(replies.INTERNAL_ERROR)


async def build_services(settings: Settings, storage: Storage) -> Services:
    """Load what the bot keeps in memory (the subscription index) from storage."""
    index = SubscriptionIndex()
    index.add_many((s.user_id, s.query, s.display) for s in await storage.all_subscriptions())
    log.info("Indexed %d subscriptions (%d distinct queries)", len(index), index.distinct_queries)
    return Services(settings=settings, storage=storage, index=index, started_at=time.time())


async def run_bot(settings: Settings, stop: asyncio.Event) -> None:
    """Run the bot with long polling until stop is set."""
    storage = await Storage.open(settings.database_path)
    try:
        services = await build_services(settings, storage)
        app = build_application(settings)
        app.bot_data.attach(services)
        async with app:
            await app.bot.set_my_commands(subscriber.SUBSCRIBER_COMMANDS)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=LONG_POLL_TIMEOUT_SECONDS, allowed_updates=ALLOWED_UPDATES
            )
            log.info("Newshound is running as @%s", app.bot.username)
            await stop.wait()
            log.info("Stopping")
            await app.updater.stop()
            await app.stop()
    finally:
        await storage.close()
