"""Slow down a user who floods the bot, before any work is done, so others are not delayed."""

import logging
import time
from collections.abc import Callable

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.ratelimit import KeyedTokenBuckets
from bot.services import BotApplication, Context
from handlers.reply import reply

log = logging.getLogger(__name__)

# Generous for a person (a burst of 20, then one a second), tight for a script.
BURST = 20
RATE_PER_SECOND = 1.0
NOTICE = (
    "You're sending messages faster than I can sensibly answer. "
    "I'll respond again in a few seconds."
)


class Throttle:
    """Drops a user's updates beyond their allowance, telling them once per flood."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._allowance = KeyedTokenBuckets(rate_of=lambda _: RATE_PER_SECOND, burst=BURST)
        self._told: set[int] = set()

    async def check(self, update: Update, context: Context) -> None:
        """Let the update through, or stop every later handler from seeing it."""
        user = update.effective_user
        if user is None or user.id in context.bot_data.services.settings.admin_ids:
            return
        if self._allowance.try_take(user.id, self._clock()):
            self._told.discard(user.id)
            return
        if user.id not in self._told:
            self._told.add(user.id)
            log.info("Throttling user %s: too many updates", user.id)
            if update.callback_query is not None:
                await update.callback_query.answer(NOTICE)
            elif update.effective_message is not None:
                await reply(update.effective_message, NOTICE)
        raise ApplicationHandlerStop


def register(app: BotApplication, clock: Callable[[], float] = time.monotonic) -> None:
    """Check every update before the other handlers (group -1 runs first)."""
    app.add_handler(TypeHandler(Update, Throttle(clock).check), group=-1)
