"""Changes other instances made, for what each instance keeps in memory.

A bot instance keeps copies of some database state in memory (the subscription index, chats'
languages, the digest lines a schedule holds). On PostgreSQL several instances share one
database: the storage method that makes such a change announces it in its transaction
(NOTIFY, sent on commit), and every instance's ChangeStream hands it to the code that keeps
the copy. A payload names ids (and a time), never what a person wrote. SQLite is one
process: its stream announces nothing.
"""

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


class ChangeKind(enum.Enum):
    """What changed; the value is the payload's first field."""

    SUBSCRIPTIONS = "s"  # a chat's subscriptions (reload them)
    LANGUAGE = "l"  # a chat's stored language (forget the cached one)
    SCHEDULE = "t"  # a chat's schedule: its held digest lines are released at `at`
    # Not announced by storage: the stream (re)connected, so changes may have been missed
    # and everything kept in memory is read again.
    RESYNC = "r"


@dataclass(frozen=True, slots=True)
class Change:
    """One change committed by some instance (this one's own included)."""

    kind: ChangeKind
    chat_id: int = 0
    at: float = 0.0

    def payload(self) -> str:
        """Return the NOTIFY payload: kind, chat id and, for a schedule, the release time."""
        if self.kind is ChangeKind.SCHEDULE:
            return f"{self.kind.value}:{self.chat_id}:{self.at!r}"
        return f"{self.kind.value}:{self.chat_id}"


RESYNC = Change(ChangeKind.RESYNC)


def parse_change(payload: str) -> Change | None:
    """Return the change a payload announces, None if it is not one (another version's)."""
    parts = payload.split(":")
    try:
        kind = ChangeKind(parts[0])
        chat_id = int(parts[1]) if len(parts) > 1 else 0
        at = float(parts[2]) if kind is ChangeKind.SCHEDULE else 0.0
    except (ValueError, IndexError):
        return None
    return Change(kind, chat_id, at)


ApplyChange = Callable[[Change], Awaitable[None]]


class ChangeStream(Protocol):
    """Changes as they are committed, from the moment the stream was opened."""

    async def run(self, apply: ApplyChange, stop: asyncio.Event) -> None:
        """Apply each change in commit order until stop; after a lost connection, apply
        RESYNC once listening again (retried while apply raises StorageUnavailable)."""

    async def close(self) -> None:
        """Stop listening."""


class Changes(Protocol):
    """Where an instance hears what every instance changes."""

    async def listen_changes(self) -> ChangeStream:
        """Start listening now (what is committed from here on is kept for run)."""


class NoChanges:
    """The stream of a backend only one process uses: nothing to hear."""

    async def run(self, apply: ApplyChange, stop: asyncio.Event) -> None:
        """Wait for stop."""
        await stop.wait()

    async def close(self) -> None:
        """Nothing to close."""
