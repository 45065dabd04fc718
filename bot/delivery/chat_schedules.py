"""The one place a chat's delivery schedule changes: storage (and the digest lines it holds,
re-timed), then the delivery worker's timers."""

import time
from collections.abc import Callable

from bot.delivery.schedule import held_until
from bot.storage import ChatSchedule, Storage

# Tells the delivery worker to release a chat's held digest lines at a new time.
Retime = Callable[[int, float], None]


class ChatSchedules:
    """Reads and changes chats' schedules; what a change holds or frees is re-timed at once
    (quiet hours or digests off: held stories go now)."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], float] = time.time,
        retime: Retime | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._retime = retime

    async def get(self, chat_id: int) -> ChatSchedule:
        """Return the chat's schedule."""
        return await self._storage.get_schedule(chat_id)

    async def change(self, chat_id: int, schedule: ChatSchedule) -> bool:
        """Store the chat's new schedule and re-time what it holds; False: unknown chat."""
        now = self._clock()
        release = held_until(now, schedule) or now
        stored = await self._storage.save_schedule(
            chat_id, schedule, release_held_at=release, now=now
        )
        if stored and self._retime is not None:
            self._retime(chat_id, release)
        return stored
