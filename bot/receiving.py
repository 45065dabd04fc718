"""How updates arrive from Telegram: long polling (the default) or a webhook.

Either way they end in the Application's update queue and go through the same processor
(bot.updates.traffic): each chat's updates in order, chats side by side. The webhook's HTTP
side is bot/web/webhook.py; what it accepts is turned into an Update here.
"""

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Conflict, TelegramError

from bot.config import Settings
from bot.services import BotApplication
from bot.web.server import Listener
from bot.web.webhook import AcceptUpdate, webhook_routes

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
LONG_POLL_TIMEOUT_SECONDS = 30


class PollingConflict(Exception):
    """Another process polls Telegram with the same token; running both would fight forever."""


class WebhookRefused(Exception):
    """Telegram would not register the webhook (a bad URL, port or certificate)."""


class LongPolling:
    """getUpdates in PTB's Updater; a 409 Conflict (another instance) stops the bot."""

    def __init__(self, app: BotApplication, stop: asyncio.Event) -> None:
        self._app = app
        self._stop = stop
        self._conflicts: list[Conflict] = []

    async def start(self) -> None:
        """Start long polling (PTB deletes a webhook left registered first)."""
        assert self._app.updater is not None
        await self._app.updater.start_polling(
            timeout=LONG_POLL_TIMEOUT_SECONDS,
            allowed_updates=ALLOWED_UPDATES,
            error_callback=self._on_error,
        )

    def _on_error(self, error: TelegramError) -> None:
        if isinstance(error, Conflict):
            log.error(
                "Telegram says another instance is polling with this bot token (409 Conflict): "
                "stopping. Stop the other instance, or give this one its own token."
            )
            self._conflicts.append(error)
            self._stop.set()
        else:
            log.warning("Polling Telegram for updates failed, retrying: %s", error)

    async def stop(self) -> None:
        """Stop long polling; after a 409, without PTB's traceback for its last getUpdates."""
        updater = self._app.updater
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
