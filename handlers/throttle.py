"""Slow down a chat that floods the bot, before any work is done, so others are not delayed.

A chat is answered no faster than Telegram lets the bot write to it (bot/updates/flood.py decides);
over that, it gets one polite notice, sent as soon as Telegram allows it, then silence until
it slows down. Updates that need no answer (the bot blocked or unblocked, a group's plain
messages, which the bot answers only when it asked for one) always pass.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.i18n import t
from bot.services import BotApplication, Context
from bot.storage import ChatType
from bot.updates.flood import FloodGate, Verdict
from bot.updates.traffic import arrival_time
from handlers.reply import reply

log = logging.getLogger(__name__)


def notice() -> str:
    """Ask a flooding chat to slow down, in its language."""
    return t(
        "You're sending messages faster than I can sensibly answer. "
        "I'll respond again in a few seconds."
    )


class Throttle:
    """Drops a chat's updates beyond what Telegram lets the bot answer, telling it once."""

    def __init__(self, gate: FloodGate, clock: Callable[[], float] = time.monotonic) -> None:
        self._gate = gate
        self._clock = clock

    async def check(self, update: Update, context: Context) -> None:
        """Let the update through, or stop every later handler from seeing it."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or update.my_chat_member is not None:
            return
        if ChatType.of(chat.type).shared and _group_talk(update):
            return  # not addressed to the bot: nothing answers it, so nothing to hold back
        if user is not None and user.id in context.bot_data.services.settings.admin_ids:
            return
        admission = self._gate.admit(chat.id, arrival_time(self._clock()), ChatType.of(chat.type))
        if admission.verdict is Verdict.ANSWER:
            return
        if admission.verdict is Verdict.NOTIFY:
            log.info("Throttling chat %s: more updates than Telegram lets us answer", chat.id)
            if update.callback_query is not None:
                # A button's answer is not a chat message: it costs none of the allowance.
                self._gate.settle(chat.id)
                await update.callback_query.answer(notice())
            elif (
                update.effective_message is not None
                and admission.notice_at is not None
                and context.application.running  # not while shutting down: nobody awaits it
            ):
                # Off the update's slot: waiting for the allowance must not hold a worker.
                context.application.create_task(
                    self._notice(update.effective_message, admission.notice_at),
                    name=f"flood-notice-{chat.id}",
                )
            else:
                self._gate.settle(chat.id)
        raise ApplicationHandlerStop

    async def _notice(self, message: Message, at: float) -> None:
        """Send the notice once the chat's allowance holds a message."""
        try:
            await asyncio.sleep(max(0.0, at - self._clock()))
            await reply(message, notice())
        except TelegramError as error:
            log.warning("Could not tell chat %s to slow down: %s", message.chat_id, error)
        finally:
            self._gate.settle(message.chat_id)


def _group_talk(update: Update) -> bool:
    """Whether the update is a plain message (no command, no button) in a group."""
    message = update.effective_message
    if update.callback_query is not None or message is None:
        return False
    return not (message.text or "").startswith("/")


def register(app: BotApplication, gate: FloodGate) -> None:
    """Check every update before the other handlers (group -1 runs first)."""
    app.add_handler(TypeHandler(Update, Throttle(gate).check), group=-1)
