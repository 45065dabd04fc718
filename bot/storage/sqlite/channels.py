"""Linked channels (channels table): who linked each one, and its display setting."""

import sqlite3

import aiosqlite

from bot.storage.channels import LinkedChannel
from bot.storage.models import ChatSeen
from bot.storage.sqlite.chats import CHAT_COLUMNS, chat_from_row
from bot.storage.sqlite.connection import SqliteBase, reading, serialized

_LINKED = (
    ", ".join(f"c.{column.strip()}" for column in CHAT_COLUMNS.split(","))
    + ", l.linked_by, l.created_at, l.show_matched"
)
_FROM = "FROM channels l JOIN chats c ON c.id = l.chat_id"


class ChannelsMixin(SqliteBase):
    """The channels table, beside the channel's row in chats."""

    @serialized
    async def link_channel(self, channel: ChatSeen, user_id: int, now: float) -> LinkedChannel:
        """Register the channel as an active chat and record who linked it."""
        async with self._transaction():
            await self._db.execute(
                """INSERT INTO chats (id, type, title, username, language, status, created_at,
                                      updated_at)
                   VALUES (?, 'channel', ?, ?, ?, 'active', ?, ?)
                   ON CONFLICT (id) DO UPDATE SET type = 'channel', title = excluded.title,
                       username = excluded.username,
                       language = coalesce(chats.language, excluded.language),
                       status = 'active', updated_at = excluded.updated_at""",
                (channel.id, channel.title, channel.username, channel.language, now, now),
            )
            await self._db.execute(
                """INSERT INTO channels (chat_id, linked_by, created_at) VALUES (?, ?, ?)
                   ON CONFLICT (chat_id) DO UPDATE SET linked_by = excluded.linked_by""",
                (channel.id, user_id, now),
            )
            async with self._db.execute(
                f"SELECT {_LINKED} {_FROM} WHERE l.chat_id = ?", (channel.id,)
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return _linked_from_row(row)

    @reading
    async def get_channel(self, db: aiosqlite.Connection, chat_id: int) -> LinkedChannel | None:
        """Return the linked channel with this chat id, or None."""
        async with db.execute(f"SELECT {_LINKED} {_FROM} WHERE l.chat_id = ?", (chat_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _linked_from_row(row)

    @reading
    async def channel_by_username(
        self, db: aiosqlite.Connection, username: str
    ) -> LinkedChannel | None:
        """Return the linked channel whose stored @username is this one (any case), or None."""
        async with db.execute(
            f"SELECT {_LINKED} {_FROM} WHERE lower(c.username) = lower(?) LIMIT 1", (username,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _linked_from_row(row)

    @reading
    async def channels_linked_by(
        self, db: aiosqlite.Connection, user_id: int
    ) -> list[LinkedChannel]:
        """Return the channels this user linked, oldest link first."""
        async with db.execute(
            f"SELECT {_LINKED} {_FROM} WHERE l.linked_by = ? ORDER BY l.created_at, l.chat_id",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_linked_from_row(row) for row in rows]

    @serialized
    async def unlink_channel(self, chat_id: int) -> bool:
        """Forget that the channel is linked; False when it was not."""
        cursor = await self._db.execute("DELETE FROM channels WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount > 0

    @serialized
    async def set_channel_matched_line(self, chat_id: int, shown: bool) -> bool:
        """Turn the "Matched" line on or off in the channel's alerts; False when not linked."""
        cursor = await self._db.execute(
            "UPDATE channels SET show_matched = ? WHERE chat_id = ?", (int(shown), chat_id)
        )
        return cursor.rowcount > 0


def _linked_from_row(row: sqlite3.Row) -> LinkedChannel:
    return LinkedChannel(
        chat=chat_from_row(row),
        linked_by=int(row[7]),
        created_at=float(row[8]),
        show_matched=bool(row[9]),
    )
