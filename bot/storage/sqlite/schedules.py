"""Chats' delivery schedules (time zone, quiet hours, digest times), and re-timing what they
hold when a schedule changes."""

import json

import aiosqlite

from bot.storage.claims import ChatSchedule, schedule_of
from bot.storage.sqlite.connection import SqliteBase, reading, serialized


class SchedulesMixin(SqliteBase):
    """The chat_schedules table; held digest lines are outbox rows (outbox.py)."""

    @reading
    async def get_schedule(self, db: aiosqlite.Connection, chat_id: int) -> ChatSchedule:
        """Return the chat's schedule (the default one if it never set any).

        On the reader: /list and /settings ask for it, and must not wait behind the writer
        while a poll cycle keeps it busy (bench: responsiveness)."""
        rows = list(
            await db.execute_fetchall(
                """SELECT timezone, quiet_start, quiet_end, digest_times FROM chat_schedules
                   WHERE chat_id = ?""",
                (chat_id,),
            )
        )
        return schedule_of(*rows[0]) if rows else ChatSchedule()

    @serialized
    async def save_schedule(
        self, chat_id: int, schedule: ChatSchedule, *, release_held_at: float, now: float
    ) -> bool:
        """Store the chat's schedule and move the digest lines it holds (not yet due) to
        release_held_at, in one transaction; False (nothing stored) for an unknown chat."""
        quiet = schedule.quiet or (None, None)
        async with self._transaction():
            found = await self._db.execute_fetchall("SELECT 1 FROM chats WHERE id = ?", (chat_id,))
            if not list(found):
                return False
            await self._db.execute(
                """INSERT INTO chat_schedules
                       (chat_id, timezone, quiet_start, quiet_end, digest_times, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (chat_id) DO UPDATE SET timezone = excluded.timezone,
                       quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
                       digest_times = excluded.digest_times, updated_at = excluded.updated_at""",
                (
                    chat_id,
                    schedule.timezone,
                    quiet[0],
                    quiet[1],
                    json.dumps(list(schedule.digest_times)),
                    now,
                ),
            )
            await self._db.execute(
                """UPDATE outbox SET next_attempt_at = ?
                   WHERE chat_id = ? AND kind = 'digest' AND status = 'pending'
                       AND next_attempt_at > ?""",
                (release_held_at, chat_id, now),
            )
        return True
