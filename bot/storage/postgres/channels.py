"""Linked channels (channels table): who linked each one, and its display setting."""

from typing import Any

from bot.storage.changes import Change, ChangeKind
from bot.storage.channels import LinkedChannel
from bot.storage.models import ChatSeen
from bot.storage.postgres.changes import announce
from bot.storage.postgres.chats import CHAT_COLUMNS, chat_from_row
from bot.storage.postgres.connection import PostgresBase

_LINKED = (
    ", ".join(f"c.{column.strip()}" for column in CHAT_COLUMNS.split(","))
    + ", l.linked_by, l.created_at, l.show_matched"
)
_FROM = "FROM channels l JOIN chats c ON c.id = l.chat_id"


class ChannelsMixin(PostgresBase):
    """The channels table, beside the channel's row in chats."""

    async def link_channel(self, channel: ChatSeen, user_id: int, now: float) -> LinkedChannel:
        """Register the channel as an active chat and record who linked it."""
        async with self._transaction() as db:
            await db.execute(
                """INSERT INTO chats (id, type, title, username, language, status, created_at,
                                      updated_at)
                   VALUES (%s, 'channel', %s, %s, %s, 'active', %s, %s)
                   ON CONFLICT (id) DO UPDATE SET type = 'channel', title = excluded.title,
                       username = excluded.username,
                       language = coalesce(chats.language, excluded.language),
                       status = 'active', updated_at = excluded.updated_at""",
                (channel.id, channel.title, channel.username, channel.language, now, now),
            )
            await announce(db, Change(ChangeKind.LANGUAGE, channel.id))
            await db.execute(
                """INSERT INTO channels (chat_id, linked_by, created_at) VALUES (%s, %s, %s)
                   ON CONFLICT (chat_id) DO UPDATE SET linked_by = excluded.linked_by""",
                (channel.id, user_id, now),
            )
            cursor = await db.execute(
                f"SELECT {_LINKED} {_FROM} WHERE l.chat_id = %s", (channel.id,)
            )
            row = await cursor.fetchone()
        assert row is not None
        return _linked_from_row(row)

    async def get_channel(self, chat_id: int) -> LinkedChannel | None:
        """Return the linked channel with this chat id, or None."""
        return await self._one_channel(f"SELECT {_LINKED} {_FROM} WHERE l.chat_id = %s", chat_id)

    async def channel_by_username(self, username: str) -> LinkedChannel | None:
        """Return the linked channel whose stored @username is this one (any case), or None."""
        return await self._one_channel(
            f"SELECT {_LINKED} {_FROM} WHERE lower(c.username) = lower(%s) LIMIT 1", username
        )

    async def _one_channel(self, sql: str, value: object) -> LinkedChannel | None:
        async with self._transaction() as db:
            cursor = await db.execute(sql, (value,))
            row = await cursor.fetchone()
        return None if row is None else _linked_from_row(row)

    async def channels_linked_by(self, user_id: int) -> list[LinkedChannel]:
        """Return the channels this user linked, oldest link first."""
        async with self._transaction() as db:
            cursor = await db.execute(
                f"""SELECT {_LINKED} {_FROM} WHERE l.linked_by = %s
                    ORDER BY l.created_at, l.chat_id""",
                (user_id,),
            )
            rows = await cursor.fetchall()
        return [_linked_from_row(row) for row in rows]

    async def unlink_channel(self, chat_id: int) -> bool:
        """Forget that the channel is linked; False when it was not."""
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM channels WHERE chat_id = %s", (chat_id,))
            return cursor.rowcount > 0

    async def set_channel_matched_line(self, chat_id: int, shown: bool) -> bool:
        """Turn the "Matched" line on or off in the channel's alerts; False when not linked."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE channels SET show_matched = %s WHERE chat_id = %s", (shown, chat_id)
            )
            return cursor.rowcount > 0


def _linked_from_row(row: tuple[Any, ...]) -> LinkedChannel:
    return LinkedChannel(
        chat=chat_from_row(row),
        linked_by=int(row[7]),
        created_at=float(row[8]),
        show_matched=bool(row[9]),
    )
