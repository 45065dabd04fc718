"""How updates arrive from Telegram: long polling (the default) or a webhook.

Long polling among several instances on one PostgreSQL: the one holding the polling lock
(bot.storage.PollingLock) polls, the others stand by and take over when it dies.

Either way they end in the Application's update queue and go through the same processor
(bot.updates.traffic): each chat's updates in order, chats side by side. The webhook's HTTP
side is bot/web/webhook.py; what it accepts is turned into an Update here.
"""

import asyncio
import contextlib
import logging
import time
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Conflict, TelegramError

from bot.config import Settings
from bot.services import BotApplication
from bot.storage import PollingLock, StorageUnavailable
from bot.web.server import Listener
from bot.web.webhook import AcceptUpdate, webhook_routes

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
LONG_POLL_TIMEOUT_SECONDS = 30
# With a polling lock (PostgreSQL): how often a waiting instance tries to take it and the
# holder checks it still holds it; how long a check may take before the lock counts as lost.
LOCK_RETRY_SECONDS = 2.0
LOCK_CHECK_TIMEOUT_SECONDS = 10.0
# 409s while holding the lock: one or two while an instance lets it go; this many in the
# window mean a poller outside the lock (another database), and the bot stops as without one.
CONFLICTS_TOLERATED = 3
CONFLICT_WINDOW_SECONDS = 60.0


class PollingConflict(Exception):
    """Another process polls Telegram with the same token; running both would fight forever."""


class WebhookRefused(Exception):
    """Telegram would not register the webhook (a bad URL, port or certificate)."""


class LongPolling:
    """getUpdates in PTB's Updater.

    Without a polling lock (SQLite: one process), a 409 Conflict means another process polls
    with this token, and it stops the bot. With one (PostgreSQL), only the instance holding
    the lock polls; the others try to take it every retry_seconds, and the holder checks as
    often that it still holds it, stopping its polling the moment it does not."""

    def __init__(
        self,
        app: BotApplication,
        stop: asyncio.Event,
        lock: PollingLock | None = None,
        *,
        retry_seconds: float = LOCK_RETRY_SECONDS,
        on_receiving: Callable[[bool], None] = lambda _: None,
    ) -> None:
        self._app = app
        self._stop = stop
        self._lock = lock
        self._retry = retry_seconds
        # Told True when this instance starts polling Telegram, False when it stops.
        self._on_receiving = on_receiving
        self.receiving = False
        self._conflicts: list[Conflict] = []
        self._recent_conflicts: deque[float] = deque()
        self._check_now = asyncio.Event()
        # Set by stop(): the holder task ends as when the bot stops (never cancelled, so that
        # it always gives the lock and its session up).
        self._quit = asyncio.Event()
        self._holder: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start long polling, or (with a lock) the task that polls while it holds it."""
        if self._lock is None:
            await self._start_polling()
            return
        self._holder = asyncio.create_task(self._hold(self._lock), name="polling lock")
        self._holder.add_done_callback(self._holder_ended)

    async def _start_polling(self) -> None:
        # PTB deletes a webhook left registered first.
        assert self._app.updater is not None
        await self._app.updater.start_polling(
            timeout=LONG_POLL_TIMEOUT_SECONDS,
            allowed_updates=ALLOWED_UPDATES,
            error_callback=self._on_error,
        )
        self._set_receiving(True)

    async def _hold(self, lock: PollingLock) -> None:
        """Poll Telegram while this instance holds the lock; wait to take it otherwise."""
        # Whether another instance may have polled until just now (it held the lock, or
        # this one lost it): then it is given time to notice and stop before this one polls.
        taking_over = False
        try:
            while not self._stopping():
                if not await self._acquire(lock):
                    if not taking_over:
                        log.info("Another instance receives Telegram's updates; standing by")
                        taking_over = True
                    await self._pause(self._retry)
                    continue
                log.info("This instance holds the polling lock: it receives Telegram's updates")
                # A holder that lost the lock notices within a check and stops: wait two,
                # so that Telegram never sees two pollers of ours.
                if taking_over:
                    await self._pause(2 * self._retry)
                taking_over = True
                if not self._stopping() and await self._still_held(lock):
                    await self._start_polling()
                    while await self._pause(self._retry) and await self._still_held(lock):
                        pass
                    await self._stop_polling()
                if not self._stopping():
                    log.warning(
                        "Lost the polling lock: stopped receiving updates; another instance "
                        "takes over, or this one when it can"
                    )
        finally:
            await self._stop_polling()
            await lock.release()

    async def _acquire(self, lock: PollingLock) -> bool:
        try:
            return await lock.acquire()
        except StorageUnavailable as error:
            log.warning("Cannot take the polling lock now: %s", error)
            return False

    async def _still_held(self, lock: PollingLock) -> bool:
        try:
            async with asyncio.timeout(LOCK_CHECK_TIMEOUT_SECONDS):
                return await lock.held()
        except TimeoutError:
            log.warning("The polling lock's database session does not answer: letting go")
            await lock.release()
            return False

    async def _pause(self, seconds: float) -> bool:
        """Wait seconds (less if a 409 asks for a check); return False once stopping."""
        self._check_now.clear()
        waits = [asyncio.ensure_future(e.wait()) for e in (self._stop, self._quit, self._check_now)]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return not self._stopping()

    def _stopping(self) -> bool:
        return self._stop.is_set() or self._quit.is_set()

    def _holder_ended(self, task: "asyncio.Task[None]") -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.critical("The polling lock's task failed; stopping", exc_info=error)
            self._stop.set()

    def _set_receiving(self, receiving: bool) -> None:
        if receiving != self.receiving:
            self.receiving = receiving
            self._on_receiving(receiving)

    def _on_error(self, error: TelegramError) -> None:
        if not isinstance(error, Conflict):
            log.warning("Polling Telegram for updates failed, retrying: %s", error)
        elif self._lock is None or self._conflicts_persist():
            log.error(
                "Telegram says another instance is polling with this bot token (409 Conflict): "
                "stopping. Stop the other instance, or give this one its own token%s.",
                ""
                if self._lock is None
                else " (this one holds the polling lock: the other does not share its database)",
            )
            self._conflicts.append(error)
            self._stop.set()
        else:
            # Between our own instances only while one lets the lock go: check it now.
            log.warning("Telegram reports another poller (409 Conflict); checking the lock")
            self._check_now.set()

    def _conflicts_persist(self) -> bool:
        now = time.monotonic()
        self._recent_conflicts.append(now)
        while self._recent_conflicts[0] < now - CONFLICT_WINDOW_SECONDS:
            self._recent_conflicts.popleft()
        return len(self._recent_conflicts) >= CONFLICTS_TOLERATED

    async def stop(self) -> None:
        """Stop long polling (and give the polling lock up)."""
        if self._holder is not None:
            self._quit.set()
            with contextlib.suppress(Exception):  # _holder_ended logged it
                await self._holder
            self._holder = None
        await self._stop_polling()

    async def _stop_polling(self) -> None:
        """Stop the updater; after a 409, without PTB's traceback for its last getUpdates."""
        updater = self._app.updater
        self._set_receiving(False)
        if updater is None or not updater.running:
            return
        # Updater.stop() calls getUpdates once more to confirm fetched updates; after a
        # conflict that call gets 409 too, and PTB logs it with a traceback. Reported once.
        updater_log = logging.getLogger("telegram.ext.Updater")
        level = updater_log.level
        if self._conflicts:
            updater_log.setLevel(logging.CRITICAL)
        try:
            await updater.stop()
        finally:
            updater_log.setLevel(level)

    def raise_if_conflicted(self) -> None:
        """Raise PollingConflict if Telegram reported another poller."""
        if self._conflicts:
            raise PollingConflict from self._conflicts[0]


class Webhook:
    """Telegram POSTs updates to WEBHOOK_URL; registered with the secret at start."""

    def __init__(self, app: BotApplication, settings: Settings) -> None:
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        self._app = app
        self._url = settings.webhook_url
        self._secret = settings.webhook_secret
        self.listener = Listener(
            settings.webhook_listen,
            settings.webhook_port,
            "WEBHOOK_LISTEN/WEBHOOK_PORT",
            tuple(webhook_routes(settings.webhook_path, self._secret, self._accept())),
        )

    def _accept(self) -> AcceptUpdate:
        async def accept(payload: dict[str, Any]) -> None:
            try:
                update = Update.de_json(payload, self._app.bot)
            except (KeyError, TypeError) as error:
                raise ValueError(f"malformed update: {error!r}") from None
            await self._app.update_queue.put(update)

        return accept

    async def start(self) -> None:
        """Register the webhook (the listener is already serving)."""
        try:
            await self._app.bot.set_webhook(
                url=self._url, allowed_updates=ALLOWED_UPDATES, secret_token=self._secret
            )
        except BadRequest as error:
            # Telegram's answer about the URL itself; a network error is raised as it is.
            raise WebhookRefused(str(error)) from error
        log.info("Receiving updates by webhook at %s", self._url)

    async def stop(self) -> None:
        """Leave the webhook registered: Telegram keeps the updates until the bot is back."""

    def raise_if_conflicted(self) -> None:
        """A webhook has no rival poller to report."""
