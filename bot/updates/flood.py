"""Flood policy for one chat: answer no faster than Telegram lets the bot write to it.

Pure: time is passed in, nothing here sends or sleeps. Telegram allows a private chat a
burst of about 3 messages, then about one a second (a group about 20 a minute); beyond that
it answers 429 and the reply would wait. So a chat's commands are answered only while its
allowance holds a message. Every message the bot wrote to the chat (replies, alerts,
notices) is recorded when Telegram accepted it, never earlier, so the estimate can only be
more careful than Telegram's own count.

An update is judged at the time it arrived (a chat's updates are handled one after another,
so handling time would hide how fast they came). One that arrives when the allowance is just
empty is still answered, its reply waiting up to `PATIENCE_SECONDS` for Telegram to allow it
(the sender paces it: see `ready_at`), so a person who is answered and asks again at once is
answered, not warned. The first update beyond that earns one notice, sent when the allowance
next holds a message; later updates are dropped, and each dropped update restarts the
refill, so the chat is answered again only after a pause (a second, in a private chat).
"""

from dataclasses import dataclass
from enum import Enum

from bot.delivery.ratelimit import (
    CHAT_BURST,
    CHAT_RATE_PER_SECOND,
    GROUP_RATE_PER_SECOND,
    SharedChats,
)
from bot.storage.models import ChatType

PRIVATE_BURST = CHAT_BURST
PRIVATE_RATE_PER_SECOND = CHAT_RATE_PER_SECOND
# How long an admitted reply may wait for the chat's allowance: one message's worth.
PATIENCE_SECONDS = 1.0
# Chats whose allowance refilled completely are forgotten once there are this many.
PRUNE_THRESHOLD = 10_000


class Verdict(Enum):
    """What to do with one update from a chat."""

    ANSWER = "answer"
    NOTIFY = "notify"  # drop it, and send the one notice at `notice_at`
    DROP = "drop"


@dataclass(frozen=True)
class Admission:
    """The verdict on one update; `notice_at` is set for NOTIFY."""

    verdict: Verdict
    notice_at: float | None = None


@dataclass
class _Chat:
    tokens: float
    updated: float
    throttled: bool = False
    # Messages promised (the notice) but not yet written: they hold part of the allowance.
    reserved: int = 0


class FloodGate:
    """Per-chat allowance mirroring Telegram's send limit, debited by what was written."""

    def __init__(self, burst: int = PRIVATE_BURST) -> None:
        self._burst = burst
        self._shared = SharedChats()
        self._chats: dict[int, _Chat] = {}

    def __len__(self) -> int:
        return len(self._chats)

    def _rate_of(self, chat_id: int) -> float:
        """Return the messages per second Telegram allows into the chat."""
        return GROUP_RATE_PER_SECOND if chat_id in self._shared else PRIVATE_RATE_PER_SECOND

    def admit(self, chat_id: int, now: float, chat_type: ChatType = ChatType.PRIVATE) -> Admission:
        """Decide whether an update from the chat (of the type the update says) is answered,
        earns the notice, or is dropped."""
        self._shared.note(chat_id, chat_type)
        chat = self._refilled(chat_id, now)
        # Judged as of its arrival: what refilled since then (while earlier updates of the
        # chat were answered) was not there for it.
        available = chat.tokens - chat.reserved - (chat.updated - now) * self._rate_of(chat_id)
        # A chat told to slow down gets no patience: it is answered after a real pause.
        patience = 0.0 if chat.throttled else PATIENCE_SECONDS * self._rate_of(chat_id)
        if available >= 1 - patience and not (chat.throttled and chat.reserved):
            chat.throttled = False
            return Admission(Verdict.ANSWER)
        if not chat.throttled:
            chat.throttled = True
            chat.reserved += 1
            wait = max(0.0, 1 - available) / self._rate_of(chat_id)
            return Admission(Verdict.NOTIFY, now + wait)
        # Still flooding: whatever refilled since the last update is forfeited.
        chat.tokens = min(chat.tokens, float(chat.reserved))
        return Admission(Verdict.DROP)

    def ready_at(self, chat_id: int, now: float) -> float:
        """Return when the chat's allowance next holds a message (now, if it does)."""
        chat = self._refilled(chat_id, now)
        return now + max(0.0, 1 - chat.tokens) / self._rate_of(chat_id)

    def wrote(self, chat_id: int, now: float) -> None:
        """Record one message Telegram accepted for the chat."""
        self._refilled(chat_id, now).tokens -= 1

    def settle(self, chat_id: int) -> None:
        """The promised notice was written (and recorded) or will not be: release it."""
        chat = self._chats.get(chat_id)
        if chat is not None and chat.reserved:
            chat.reserved -= 1

    def _refilled(self, chat_id: int, now: float) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= PRUNE_THRESHOLD:
                self._prune(now)
            chat = self._chats[chat_id] = _Chat(float(self._burst), now)
        elapsed = max(0.0, now - chat.updated)
        chat.tokens = min(float(self._burst), chat.tokens + elapsed * self._rate_of(chat_id))
        chat.updated = max(chat.updated, now)
        return chat

    def _prune(self, now: float) -> None:
        for chat_id, chat in list(self._chats.items()):
            refilled = chat.tokens + (now - chat.updated) * self._rate_of(chat_id)
            if refilled >= self._burst and not chat.reserved:
                del self._chats[chat_id]
