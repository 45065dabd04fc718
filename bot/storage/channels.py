"""Channels linked as subscribers: the value storage returns for one and the Channels protocol.

A channel cannot talk to the bot, so a person links it from their private chat (they and the
channel's other admins manage it from there); storage keeps who linked it and when, and the
channel's own display setting (the "Matched" line, off by default).
"""

from dataclasses import dataclass
from typing import Protocol

from bot.storage.models import Chat, ChatSeen


@dataclass(frozen=True)
class LinkedChannel:
    """A channel the bot posts alerts to, and the person who linked it."""

    chat: Chat
    linked_by: int
    created_at: float
    # Alerts in the channel end with "Matched: ..." only when its admins turned it on.
    show_matched: bool = False


class Channels(Protocol):
    """Linked channels; a channel's subscriptions and schedule are its chat's, as any chat's."""

    async def link_channel(self, channel: ChatSeen, user_id: int, now: float) -> LinkedChannel:
        """Register the channel as an active chat and record that user_id linked it (a new
        link by another admin makes them the one told about it), in one transaction."""

    async def get_channel(self, chat_id: int) -> LinkedChannel | None:
        """Return the linked channel with this chat id, or None."""

    async def channel_by_username(self, username: str) -> LinkedChannel | None:
        """Return the linked channel whose stored @username is this one (any case), or None."""

    async def channels_linked_by(self, user_id: int) -> list[LinkedChannel]:
        """Return the channels this user linked, oldest link first."""

    async def unlink_channel(self, chat_id: int) -> bool:
        """Forget that the channel is linked; False when it was not."""

    async def set_channel_matched_line(self, chat_id: int, shown: bool) -> bool:
        """Turn the "Matched" line on or off in the channel's alerts; False when not linked."""
