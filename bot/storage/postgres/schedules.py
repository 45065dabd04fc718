"""Chats' delivery schedules (time zone, quiet hours, digest times), and re-timing what they
hold when a schedule changes."""

import json

from bot.storage.changes import Change, ChangeKind
from bot.storage.claims import ChatSchedule, schedule_of
from bot.storage.postgres.changes import announce
from bot.storage.postgres.connection import PostgresBase


class SchedulesMixin(PostgresBase):
    """The chat_schedules table; held digest lines are outbox rows (outbox.py)."""

    async def get_schedule(self, chat_id: int) -> ChatSchedule:
        """Return the chat's schedule (the default one if it never set any)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """SELECT timezone, quiet_start, quiet_end, digest_times FROM chat_schedules
                   WHERE chat_id = %s""",
                (chat_id,),
            )
            row = await cursor.fetchone()
        return schedule_of(*row) if row else ChatSchedule()

    async def save_schedule(
        self, chat_id: int, schedule: ChatSchedule, *, release_held_at: float, now: float
    ) -> bool:
        """Store the chat's schedule and move the digest lines it holds (not yet due) to
        release_held_at, in one transaction; False (nothing stored) for an unknown chat."""
        quiet = schedule.quiet or (None, None)
        async with self._transaction() as db:
            # Locked like a claim (claims.py): no claim queues by the old schedule meanwhile.
            cursor = await db.execute("SELECT 1 FROM chats WHERE id = %s FOR UPDATE", (chat_id,))
            if await cursor.fetchone() is None:
                return False
            await db.execute(
                """INSERT INTO chat_schedules
                       (chat_id, timezone, quiet_start, quiet_end, digest_times, updated_at)
                   VALUES (%s, %s, %s, %s, %s, %s)
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
            await db.execute(
                """UPDATE outbox SET next_attempt_at = %s
                   WHERE chat_id = %s AND kind = 'digest' AND status = 'pending'
                       AND next_attempt_at > %s""",
                (release_held_at, chat_id, now),
            )
            # Every instance re-times the digest lines of the chat it holds in memory.
            await announce(db, Change(ChangeKind.SCHEDULE, chat_id, release_held_at))
        return True
