"""How a send that Telegram refused ends: retried later, the chat blocked or moved, or failed.

The worker (bot/delivery/worker.py) applies the Attempt to every outbox row the send carried.
"""

import logging
import re
from dataclasses import dataclass

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.storage import Delivery, OutboxItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """How one send attempt ended, to apply to every row it carried."""

    status: str
    chat_id: int
    attempts: int
    next_attempt_at: float = 0.0
    error: str | None = None
    blocked: bool = False
    migrated_to: int | None = None
    message_id: int | None = None

    def delivery(self, row: OutboxItem) -> Delivery:
        return Delivery(
            outbox_id=row.id,
            chat_id=self.chat_id,
            status=self.status,
            attempts=self.attempts,
            next_attempt_at=self.next_attempt_at,
            error=self.error,
            chat_blocked=self.blocked,
            migrated_to=self.migrated_to,
            message_id=self.message_id,
        )


def attempt_after(error: TelegramError, item: OutboxItem, now: float) -> Attempt | None:
    """Return how the attempt to send item ends, Telegram having answered with error.

    None for a network error: the worker retries it on its own schedule (_retry_later).
    """
    attempts = item.attempts + 1
    chat_id = item.chat_id
    # Most specific first: BadRequest and TimedOut are both NetworkErrors.
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
        log.info("Telegram asked to wait %.0f s before writing to %s", seconds, chat_id)
        return Attempt("pending", chat_id, item.attempts, now + seconds)
    if isinstance(error, Forbidden):
        log.info("Chat %s blocked the bot or is gone: %s", chat_id, error.message)
        return Attempt("blocked", chat_id, attempts, error=error.message, blocked=True)
    if isinstance(error, ChatMigrated):
        new_chat_id = int(error.new_chat_id)
        log.info("Chat %s became supergroup %s; moving its subscriptions", chat_id, new_chat_id)
        return Attempt("pending", new_chat_id, item.attempts, now, migrated_to=new_chat_id)
    if isinstance(error, BadRequest) and item.thread_id is not None and _topic_gone(error):
        log.warning(
            "Forum topic %s of chat %s is deleted or closed (%s): message %s failed; an admin "
            "of the chat can send its alerts elsewhere with /movetopic in another topic",
            item.thread_id,
            chat_id,
            error.message,
            item.id,
        )
        return Attempt("failed", chat_id, attempts, error=error.message)
    if isinstance(error, BadRequest):
        log.warning("Telegram refused message %s to %s: %s", item.id, chat_id, error)
        return Attempt("failed", chat_id, attempts, error=error.message)
    if isinstance(error, NetworkError):  # includes TimedOut: the message may have gone through
        return None
    log.warning("Sending %s to %s failed: %s", item.id, chat_id, error)
    return Attempt("failed", chat_id, attempts, error=error.message)


# Telegram's answers to a send into a forum topic that was deleted or closed.
_TOPIC_GONE = re.compile(r"message thread not found|topic_closed|topic_deleted", re.IGNORECASE)


def _topic_gone(error: BadRequest) -> bool:
    """Whether Telegram refused the send because its forum topic was deleted or closed."""
    return _TOPIC_GONE.search(error.message) is not None


MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 2.0


def retry_later(item: OutboxItem, attempts: int, error: TelegramError, now: float) -> Attempt:
    """A send that failed for a passing reason: retried with backoff, up to MAX_ATTEMPTS."""
    if attempts >= MAX_ATTEMPTS:
        log.warning(
            "Giving up on %s to %s after %d attempts: %s", item.id, item.chat_id, attempts, error
        )
        return Attempt("failed", item.chat_id, attempts, error=error.message)
    delay = RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    log.info(
        "Network error sending %s (attempt %d), retrying in %.0f s: %s",
        item.id,
        attempts,
        delay,
        error,
    )
    return Attempt("pending", item.chat_id, attempts, now + delay, error=error.message)
