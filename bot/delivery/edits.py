"""Edit sent alerts whose story came from another outlet: "Also: Reuters, BBC".

A copy of a story from another feed queues an edit of each alert about it (storage,
bot.storage.edits). The delivery worker runs an AlertEditor beside its sends: it reads the
due edits when woken (a poll queued some, an alert they wait for was sent) or when a retry
is due, takes each chat's pacing as a send would, re-renders the alert as it is now (its
"Also:" line naming every copy's outlet, its own buttons) and replaces the message's text.
An edit is idempotent: repeated after a crash, or with nothing new, it changes nothing
("message is not modified" counts as done). An alert not yet sent when its copy arrives
renders with its "Also:" line; its edit then finds nothing to change.
"""

import asyncio
import logging
import re
from collections.abc import Callable

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.delivery.markup import inline_markup
from bot.delivery.pacing import ChatPacer
from bot.delivery.worker_errors import MAX_ATTEMPTS, RETRY_BASE_SECONDS
from bot.render.outbox import render_all
from bot.storage import AlertEdit, EditOutcome, Storage, StorageUnavailable

log = logging.getLogger(__name__)

# Edits read per step; more wait for the next (Telegram's pacing spreads them anyway).
EDIT_BATCH = 20
# Telegram's answer to an edit that changes nothing (PTB capitalises its first letter).
_NOT_MODIFIED = re.compile(r"message is not modified", re.IGNORECASE)


class AlertEditor:
    """Edits sent alerts when their story arrives from another outlet."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        pacer: ChatPacer,
        clock: Callable[[], float],
        worker_wake: asyncio.Event,
    ) -> None:
        self._bot = bot
        self._worker_wake = worker_wake
        self._storage = storage
        self._pacer = pacer
        self._clock = clock
        self._dirty = True  # edits left by an earlier run are read once at start
        self._next_due: float | None = None
        self._waiting_for_alerts = False
        self._running: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """A poll queued edits: read them at the worker's next step, soon."""
        self._dirty = True
        self._worker_wake.set()

    def alert_sent(self) -> None:
        """An alert was sent: edits that waited for their alert may be due."""
        if self._waiting_for_alerts:
            self._dirty = True

    async def step(self) -> None:
        """Start the due edits the chats' pacing allows (one batch at a time)."""
        if self._running is not None and not self._running.done():
            return
        now = self._clock()
        if not self._dirty and (self._next_due is None or now < self._next_due):
            return
        self._dirty = False
        due = await self._storage.due_alert_edits(now, EDIT_BATCH)
        self._next_due = due.next_due
        self._waiting_for_alerts = due.waiting > 0
        if len(due.edits) == EDIT_BATCH:  # more may be due (a wake meanwhile stays set)
            self._dirty = True
        ready: list[AlertEdit] = []
        for edit in due.edits:
            chat_id = edit.alert.chat_id
            if self._pacer.try_take(chat_id, now):
                ready.append(edit)
            else:  # the chat's allowance is spent: its edit waits like its next message
                ready_at = self._pacer.ready_at(chat_id, now)
                self._next_due = min(self._next_due or ready_at, ready_at)
        if ready:
            self._running = asyncio.create_task(self._edit_all(ready))

    async def stop(self) -> None:
        """Let the edits in flight end and record them (the worker is stopping)."""
        if self._running is not None:
            await self._running

    async def _edit_all(self, edits: list[AlertEdit]) -> None:
        outcomes = [await self._edit(edit) for edit in edits]
        # A retry's time is read back with the others' at the next step.
        self._dirty = self._dirty or any(o.status == "pending" for o in outcomes)
        try:
            await self._storage.record_alert_edits(outcomes, self._clock())
        except StorageUnavailable as error:
            # Still pending in storage: done again later, which changes nothing twice.
            log.error("%d alert edits could not be recorded: %s", len(outcomes), error)
            self._dirty = True

    async def _edit(self, edit: AlertEdit) -> EditOutcome:
        alert = edit.alert
        try:
            message = render_all([alert])[0]
            # The alert's own buttons go with it: an edit without them would remove them.
            await self._bot.edit_message_text(
                chat_id=alert.chat_id,
                message_id=edit.message_id,
                text=message.text,
                reply_markup=inline_markup(message.keyboard),
            )
        except TelegramError as error:
            return self._refused(edit, error)
        except Exception:  # a bug must cost one edit, not the editor
            log.exception("Unexpected error editing alert %s", alert.id)
            return EditOutcome(alert.id, "failed", edit.attempts + 1, edit.generation, error="bug")
        return EditOutcome(alert.id, "done", edit.attempts + 1, edit.generation)

    def _refused(self, edit: AlertEdit, error: TelegramError) -> EditOutcome:
        """How an edit Telegram refused ends: done, retried later, or failed for good."""
        alert, now = edit.alert, self._clock()
        attempts = edit.attempts + 1
        if isinstance(error, RetryAfter):
            wait = error.retry_after
            seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
            self._pacer.hold(alert.chat_id, now + seconds, now)
            return EditOutcome(alert.id, "pending", edit.attempts, edit.generation, now + seconds)
        if isinstance(error, BadRequest):
            if _NOT_MODIFIED.search(error.message):
                return EditOutcome(alert.id, "done", attempts, edit.generation)
            # Deleted by the reader, too old, or the chat is gone: nothing left to edit.
            log.info("Alert %s in %s cannot be edited: %s", alert.id, alert.chat_id, error)
            return EditOutcome(alert.id, "failed", attempts, edit.generation, error=error.message)
        if isinstance(error, NetworkError) and attempts < MAX_ATTEMPTS:
            retry_at = now + RETRY_BASE_SECONDS * 2 ** (attempts - 1)
            log.info("Network error editing alert %s, retrying: %s", alert.id, error)
            return EditOutcome(
                alert.id, "pending", attempts, edit.generation, retry_at, error.message
            )
        # Blocked (the next alert marks the chat), migrated, or out of attempts.
        log.warning("Editing alert %s in %s failed: %s", alert.id, alert.chat_id, error)
        return EditOutcome(alert.id, "failed", attempts, edit.generation, error=error.message)
