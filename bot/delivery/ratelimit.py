"""Token buckets per key (chat, user): a short burst, then a steady rate; which chats are
groups, which Telegram paces slower."""

from collections.abc import Callable
from dataclasses import dataclass

from bot.storage.models import ChatType

# Telegram's send limits into one chat (Bots FAQ), shared by the delivery pacer and the
# flood gate: about one message a second to a private chat, with short bursts; groups,
# supergroups and channels 20 messages a minute.
CHAT_RATE_PER_SECOND = 1.0
CHAT_BURST = 3
GROUP_RATE_PER_SECOND = 20 / 60
# Buckets that refilled completely are forgotten once there are this many, to bound memory.
PRUNE_THRESHOLD = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float
    hold_until: float = 0.0


class SharedChats:
    """The chats known to be groups, supergroups or channels, as Telegram typed them.

    Learnt from each update's chat and each stored chat record; never from the id itself.
    A chat not (yet) known counts as private.
    """

    def __init__(self) -> None:
        self._ids: set[int] = set()

    def note(self, chat_id: int, chat_type: ChatType) -> None:
        """Record the chat's type."""
        if chat_type.shared:
            self._ids.add(chat_id)
        else:
            self._ids.discard(chat_id)

    def __contains__(self, chat_id: int) -> bool:
        return chat_id in self._ids


class KeyedTokenBuckets:
    """One token bucket per key; time is passed in, never read."""

    def __init__(self, rate_of: Callable[[int], float], burst: int) -> None:
        self._rate_of = rate_of
        self._burst = burst
        self._buckets: dict[int, _Bucket] = {}

    def _bucket(self, key: int, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= PRUNE_THRESHOLD:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self._burst), now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self._burst), bucket.tokens + elapsed * self._rate_of(key))
        bucket.updated = now
        return bucket

    def _prune(self, now: float) -> None:
        for key in list(self._buckets):
            bucket = self._buckets[key]
            refilled = bucket.tokens + (now - bucket.updated) * self._rate_of(key)
            if refilled >= self._burst and bucket.hold_until <= now:
                del self._buckets[key]

    def ready_at(self, key: int, now: float) -> float:
        """Return the earliest time the key may spend a token."""
        bucket = self._bucket(key, now)
        refill = 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self._rate_of(key)
        return max(now + refill, bucket.hold_until)

    def take(self, key: int, now: float) -> None:
        """Spend one token."""
        self._bucket(key, now).tokens -= 1

    def try_take(self, key: int, now: float) -> bool:
        """Spend a token if one is available now; tell whether it was."""
        if self.ready_at(key, now) > now:
            return False
        self.take(key, now)
        return True

    def hold(self, key: int, until: float, now: float) -> None:
        """Allow nothing for the key before `until` (e.g. Telegram asked us to wait)."""
        bucket = self._bucket(key, now)
        bucket.hold_until = max(bucket.hold_until, until)
