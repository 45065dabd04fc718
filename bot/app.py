"""Composition root: open storage, build the Application, wire handlers and jobs, run."""

import asyncio
import gc
import logging
import math
import time
from collections.abc import Callable

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults

from bot import __version__
from bot.config import Settings
from bot.delivery.chat_schedules import ChatSchedules
from bot.delivery.shared import delivery_sharing
from bot.delivery.worker import DeliveryWorker
from bot.dryrun import run_indexer
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import check_public_url
from bot.ingest.poller import Poller
from bot.ingest.pool import FeedParserPool
from bot.instance import Heartbeat, new_instance_id
from bot.metrics import NO_METRICS, MetricsSink
from bot.receiving import LongPolling, Webhook
from bot.render import replies
from bot.services import BotApplication, BotData, Context, Services, build_services
from bot.storage import Storage, StorageUnavailable
from bot.storage.backends import open_storage
from bot.storage.changes import ChangeStream, NoChanges
from bot.storage.retention import Maintenance
from bot.sync import ChangeApplier
from bot.telegram_http import AiohttpRequest
from bot.updates.flood import FloodGate
from bot.updates.traffic import (
    ChatOrderedProcessor,
    LocaleSource,
    RecordingRateLimiter,
    sender_locale,
)
from bot.web.health import HealthCheck, LoopWatch
from bot.web.metrics import PrometheusMetrics
from bot.web.server import Listener, WebServer, ops_routes
from handlers import menus
from handlers.admins import ChatAdmins
from handlers.registry import register_all
from handlers.reply import reply as send_reply

log = logging.getLogger(__name__)

# Sends kept in flight: enough to hold the rate over a ~100 ms round trip, no more (a crash
# may repeat each; extra ones would only queue in the rate limiter).
SEND_ROUND_TRIP_SECONDS = 0.1
MIN_SENDS_IN_FLIGHT = 4


def sends_in_flight(rate: int) -> int:
    """Return how many sends the delivery worker keeps in flight at a given rate."""
    return max(MIN_SENDS_IN_FLIGHT, math.ceil(rate * SEND_ROUND_TRIP_SECONDS))


# 429s reach the caller instead of being retried inside the limiter: PTB's limiter pauses
# every request while it sleeps out one chat's retry_after (and bug #5338 wakes it early),
# whereas the delivery worker delays just that chat's rows and keeps the rest flowing.
RATE_LIMITER_RETRIES = 0
# Updates handled at once, each chat's in order: enough that a few slow chats (a reply
# waiting on Telegram gives its slot up) never hold up the rest, few enough to stay light.
UPDATE_CONCURRENCY = 16


def build_application(settings: Settings, metrics: MetricsSink = NO_METRICS) -> BotApplication:
    """Build the PTB Application with every handler registered, not yet started."""
    gate = FloodGate()
    processor = ChatOrderedProcessor(UPDATE_CONCURRENCY)
    app = (
        Application.builder()
        .token(settings.bot_token)
        .base_url(settings.bot_base_url)
        .base_file_url(settings.bot_file_url)
        # Sends through aiohttp: httpx's pool cost more CPU than the rest of a send.
        .request(AiohttpRequest())
        .rate_limiter(
            RecordingRateLimiter(
                gate,
                overall_max_rate=settings.max_messages_per_second,
                max_retries=RATE_LIMITER_RETRIES,
                metrics=metrics,
            )
        )
        .concurrent_updates(processor)
        .context_types(ContextTypes(bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .build()
    )
    processor.locale_source = _chat_locales(app)
    register_all(app, gate)
    app.add_error_handler(on_error)
    return app


def _chat_locales(app: BotApplication) -> LocaleSource:
    """Each update in its chat's language (Services.languages), once the services are there."""

    async def locale_of(chat_id: int | None, language_code: str | None) -> str:
        if not app.bot_data.attached:
            return await sender_locale(chat_id, language_code)
        return await app.bot_data.services.languages.locale_of(chat_id, language_code)

    return locale_of


async def on_error(update: object, context: Context) -> None:
    """Log any unhandled handler error and tell the user something went wrong."""
    if isinstance(context.error, StorageUnavailable):
        log.error("Could not handle an update: %s", context.error)
        reply = replies.storage_unavailable()
    else:
        log.error("Error while handling an update", exc_info=context.error)
        reply = replies.internal_error()
    if isinstance(update, Update) and update.effective_message is not None:
        await send_reply(update.effective_message, reply)


async def add_configured_feeds(settings: Settings, storage: Storage) -> None:
    """Add the operator's FEED_URLS (trusted); feeds already present are left as they are."""
    now = time.time()
    for url in settings.feed_urls:
        _, created = await storage.add_feed(url, now, trusted=True)
        if created:
            log.info("Added feed %s from FEED_URLS", url)


def _stop_if_crashed(task: "asyncio.Task[None]", stop: asyncio.Event) -> None:
    """A dead poller or worker must not leave a bot that answers but never alerts."""
    if not task.cancelled() and task.exception() is not None:
        log.critical(
            "%s stopped unexpectedly; shutting down", task.get_name(), exc_info=task.exception()
        )
        stop.set()


async def run_bot(
    settings: Settings, stop: asyncio.Event, *, clock: Callable[[], float] | None = None
) -> None:
    """Run the bot (long polling or a webhook, the feed poller, the delivery worker and,
    with HTTP_PORT, /healthz and /metrics) until stop.

    clock, if given, replaces the wall clock of the delivery worker's schedule (retries,
    Telegram's pauses) and the throttle's: tests move it instead of waiting.
    """
    storage = await open_storage(settings.database_url, settings.database_path)
    fetcher = Fetcher(
        concurrency=settings.fetch_concurrency,
        user_agent=f"Newshound/{__version__}",
        url_check=None if settings.allow_private_feeds else check_public_url,
    )
    parsers = FeedParserPool(settings.parse_workers)
    changes: ChangeStream = NoChanges()
    try:
        # Starting the forkserver (it loads the dictionaries) and the workers blocks the
        # thread that asks for the first parse: ask from a thread, before serving anyone.
        await asyncio.to_thread(parsers.start_workers)
        await add_configured_feeds(settings, storage)
        # Listening before the index is read: nothing another instance commits is missed.
        changes = await storage.listen_changes()
        services = await build_services(settings, storage, fetcher, parsers)
        services.clock = clock or time.time
        # Series are kept only where they are served.
        metrics = PrometheusMetrics(services.clock) if settings.http_port else None
        app = build_application(settings, metrics or NO_METRICS)
        services.admins = ChatAdmins(app.bot, services.clock)
        app.bot_data.attach(services)
        # What was loaded (index, aliases, dictionaries) is kept from the collector while the
        # bot runs: a full collection walked it all with the GIL held, the loop stalled 100-350
        # ms (bench: a /list waited). Garbage goes first; all is given back at the end.
        gc.collect()
        gc.freeze()
        try:
            async with app:
                await _serve(app, services, stop, metrics, changes)
        finally:
            gc.unfreeze()
            # PTB shuts its requests down only after a start that succeeded (not after a
            # rejected token): the aiohttp session is closed here in any case.
            await app.bot.request.shutdown()
    finally:
        await changes.close()
        parsers.close()
        await fetcher.aclose()
        await storage.close()


async def _serve(
    app: BotApplication,
    services: Services,
    stop: asyncio.Event,
    metrics: PrometheusMetrics | None,
    changes: ChangeStream,
) -> None:
    """Start receiving updates, the feed poller, the delivery worker, the maintenance task
    and the HTTP listeners; stop them cleanly."""
    settings, clock = services.settings, services.clock
    # One id per process: its heartbeat, its feed leases and its outbox leases.
    heartbeat = Heartbeat(services.storage, new_instance_id(), settings.instance_lease_seconds)
    sink: MetricsSink = metrics or NO_METRICS
    await menus.set_default_menus(app.bot)
    await menus.set_admin_menus(app.bot, settings.admin_ids, services.languages)
    worker = DeliveryWorker(
        app.bot,
        services.storage,
        services.index.subscribers,
        burst_limit=settings.alert_burst_limit,
        coalesce_after=settings.alert_coalesce_seconds,
        concurrency=sends_in_flight(settings.max_messages_per_second),
        on_chat_migrated=services.subscriptions.move_chat,
        clock=clock,
        metrics=sink,
        sharing=delivery_sharing(settings, heartbeat.instance),
    )
    services.delivery = worker
    # Schedule changes read the worker's clock and re-time the digest lines it holds.
    services.schedules = ChatSchedules(services.storage, clock, worker.retime_held)
    # What other instances change reaches the index, the languages and the held digests.
    sync = ChangeApplier(services.storage, services.index, services.languages, worker.retime_held)
    poller = Poller(
        services.storage,
        services.fetcher,
        services.parsers,
        services.index,
        interval=settings.poll_interval_seconds,
        on_matches=worker.notify,
        metrics=sink,
        on_edits=worker.editor.wake,
        instance=heartbeat.instance,
        lease_seconds=settings.instance_lease_seconds,
        max_in_flight=2 * settings.fetch_concurrency,
    )
    maintenance = Maintenance(
        services.storage,
        outbox_days=settings.outbox_retention_days,
        story_days=settings.story_retention_days,
    )
    lock = None if settings.webhook_url else services.storage.polling_lock()
    receiver = Webhook(app, settings) if settings.webhook_url else LongPolling(app, stop, lock)
    loop_watch = LoopWatch()
    listeners = [receiver.listener] if isinstance(receiver, Webhook) else []
    if metrics is not None and settings.http_port is not None:
        health = HealthCheck(services.storage, loop_watch, lambda: metrics.last_send_at, clock)
        routes = tuple(ops_routes(health, metrics, services.storage, clock))
        listeners.append(Listener(settings.http_listen, settings.http_port, "HTTP_PORT", routes))
    web = WebServer(listeners)
    await app.start()
    try:
        # The webhook's route listens before Telegram is told to post to it.
        await web.start()
        await receiver.start()
        log.info("Newshound is running as @%s, instance %s", app.bot.username, heartbeat.instance)
        background = [
            asyncio.create_task(heartbeat.run(stop), name="heartbeat"),
            asyncio.create_task(worker.run(stop), name="delivery"),
            asyncio.create_task(poller.run(stop), name="poller"),
            asyncio.create_task(maintenance.run(stop), name="maintenance"),
            asyncio.create_task(run_indexer(services.storage, stop), name="dry-run index"),
            asyncio.create_task(changes.run(sync.apply, stop), name="changes"),
        ]
        if metrics is not None:  # only /healthz reads it
            background.append(asyncio.create_task(loop_watch.run(stop), name="event-loop watch"))
        for task in background:
            task.add_done_callback(lambda done: _stop_if_crashed(done, stop))
        try:
            await stop.wait()
        finally:
            log.info("Stopping")
            stop.set()
            await asyncio.gather(*background, return_exceptions=True)
            await heartbeat.retire()
    finally:
        await receiver.stop()
        await web.stop()
        await app.stop()
    receiver.raise_if_conflicted()
    for task in background:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise BackgroundTaskCrashed(task.get_name()) from error


class BackgroundTaskCrashed(Exception):
    """The poller, the delivery worker or maintenance died; the bot stopped rather than limp."""

    def __init__(self, task_name: str) -> None:
        super().__init__(task_name)
        self.task_name = task_name
