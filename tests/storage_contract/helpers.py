"""What the contract tests share: chats, a clock origin, stories and polls to save."""

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.ingest.stories import story_from_entry
from bot.storage import (
    ChatSeen,
    ChatType,
    Feed,
    PollToSave,
    SavedPoll,
    Storage,
    StoryMatcher,
    StoryToSave,
)
from bot.text.analyzer import analyze

HOUR = 3600.0
T0 = 1_700_000_000.0
ANN = 6001
BOB = 6002
CAROL = 6003
_serial = itertools.count(1)


class Peek(Protocol):
    """A backend's committed rows, read around the protocols (tests only)."""

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox row as column -> value, oldest first."""

    def alerts(self) -> list[tuple[int, str]]:
        """(user, story title) of every story's outbox row, oldest first."""

    def story_titles(self) -> list[str]:
        """The title of every stored story, oldest first."""


def private(chat_id: int, title: str | None = None, username: str | None = None) -> ChatSeen:
    """A private chat as its first update describes it."""
    return ChatSeen(chat_id, ChatType.PRIVATE, title, username)


@dataclass
class Db:
    storage: Storage
    peek: Peek

    def outbox(self) -> list[dict[str, Any]]:
        return self.peek.outbox()

    def alerts(self) -> list[tuple[int, str]]:
        """(user, story title) of every outbox row, oldest first."""
        return self.peek.alerts()

    def story_titles(self) -> list[str]:
        return self.peek.story_titles()

    async def feed(self, feed_id: int) -> Feed:
        [feed] = [f for f in await self.storage.list_feeds() if f.id == feed_id]
        return feed


async def add_feed(db: Db, name: str = "a") -> Feed:
    feed, _ = await db.storage.add_feed(f"https://{name}.example/feed.xml", T0, trusted=True)
    return feed


def candidate(
    feed: Feed,
    title: str,
    *,
    guid: str | None = None,
    link: str | None = None,
    alertable: bool = True,
) -> StoryToSave:
    n = next(_serial)
    story = story_from_entry(
        feed.id,
        guid or f"urn:test:{n}",
        link if link is not None else f"https://{feed.id}.example/story/{n}",
        title,
        datetime.fromtimestamp(T0, UTC),
        f"Summary of {title}.",
    )
    return StoryToSave(story, analyze(story.title), alertable)


def everyone(*users: int) -> StoryMatcher:
    """A matcher that says every story matches these users' "Ukraine" subscription."""
    matched: Mapping[int, tuple[str, ...]] = dict.fromkeys(users, ("Ukraine",))
    return lambda _: matched


async def save(
    db: Db,
    feed: Feed,
    *stories: StoryToSave,
    now: float = T0,
    match: StoryMatcher | None = None,
    alerts_enabled: bool = True,
    burst_limit: int = 100,
    body_digest: str | None = None,
) -> SavedPoll:
    return await db.storage.save_poll(
        PollToSave(
            feed_id=feed.id,
            url=feed.url,
            title=f"Feed {feed.id}",
            etag='"v1"',
            last_modified=None,
            next_poll_at=now + 300,
            now=now,
            alerts_enabled=alerts_enabled,
            stories=stories,
            burst_limit=burst_limit,
            body_digest=body_digest,
        ),
        match=match or everyone(ANN),
    )


async def queue(db: Db, feed: Feed, user: int, count: int) -> list[int]:
    """Queue `count` alerts for one user; return their outbox ids."""
    before = {row["id"] for row in db.outbox()}
    stories = [candidate(feed, f"Ukraine story for {user} #{n}") for n in range(count)]
    await save(db, feed, *stories, match=everyone(user))
    return [row["id"] for row in db.outbox() if row["id"] not in before]
