"""What the contract tests share: chats, a clock origin, stories and polls to save."""

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.delivery.fanout import MatchLog, claim_planner
from bot.ingest.stories import story_from_entry
from bot.storage import (
    ChatSeen,
    ChatType,
    Claim,
    Feed,
    PollToSave,
    SavedPoll,
    Storage,
    StoryMatcher,
    StoryToSave,
)
from bot.text.analyzer import analyze
from bot.text.packed import pack

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

    def stories(self) -> dict[str, int]:
        """Every stored story's id, by title."""

    def kept_texts(self) -> list[int]:
        """The stories whose dry-run text is kept."""

    def indexed_under(self, token: str, *, prefix: bool = False) -> list[int]:
        """The stories the dry run's index holds under a token (or a token's start)."""


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
    dated: bool = True,
) -> StoryToSave:
    n = next(_serial)
    story = story_from_entry(
        feed.id,
        guid or f"urn:test:{n}",
        link if link is not None else f"https://{feed.id}.example/story/{n}",
        title,
        datetime.fromtimestamp(T0, UTC) if dated else None,
        f"Summary of {title}.",
    )
    analyzed = analyze(story.title)
    # As the parser workers do: what matching saw, packed for the dry run.
    return StoryToSave(story, analyzed, alertable, pack(analyzed) if alertable else b"")


@dataclass(frozen=True)
class Audience:
    """A matcher: every story matches these chats' subscriptions ({chat: displays}), which
    save() stores first (a chat with no row stays unsubscribed)."""

    displays: Mapping[int, tuple[str, ...]]
    # Each chat's queries are its own (the same display, another normalised query), so
    # other chats subscribed to the same display are not matched.
    private: bool = False

    def __call__(self, _: StoryToSave) -> tuple[str, ...]:
        return tuple(sorted({self.query(c, d) for c, ds in self.displays.items() for d in ds}))

    def query(self, chat_id: int, display: str) -> str:
        """The normalised query a test display stands for."""
        return own_query(chat_id, display) if self.private else display.casefold()


def own_query(chat_id: int, display: str = "Ukraine") -> str:
    """A chat's own normalised query for a display: no other chat subscribes to it, so a story
    matched for some chats reaches only them."""
    return f"{display.casefold()}#{chat_id}"


def everyone(*users: int) -> Audience:
    """A matcher that says every story matches these users' "Ukraine" subscription."""
    return Audience(dict.fromkeys(users, ("Ukraine",)))


async def subscribe(db: Db, audience: Audience) -> None:
    """Store the audience's subscriptions (those already there stay as they are)."""
    for chat_id, displays in audience.displays.items():
        if await db.storage.get_chat(chat_id) is not None:
            await db.storage.add_subscriptions(
                chat_id, [(audience.query(chat_id, d), d) for d in displays], limit=100, now=T0
            )


async def fan_out(storage: Storage, now: float, burst_limit: int = 100) -> list[Claim]:
    """Play the delivery worker's part: claim every subscribed chat's pending stories."""
    log = MatchLog()
    log.last_id = await storage.delivery_watermark()
    log.add(await storage.story_matches(log.last_id, 100_000))
    plan = claim_planner(log, limit=burst_limit, now=now)

    claims = []
    for chat_id in sorted({s.chat_id for s in await storage.all_subscriptions()}):
        while True:
            claims.append(claim := await storage.claim_chat(chat_id, plan, now))
            if not claim.more:
                break
    await storage.advance_watermark(log.last_id)
    return claims


async def save(
    db: Db,
    feed: Feed,
    *stories: StoryToSave,
    now: float = T0,
    match: StoryMatcher | None = None,
    alerts_enabled: bool = True,
    burst_limit: int = 100,
    body_digest: str | None = None,
    deliver: bool = True,
    new_items_only: bool = False,
    complete: bool = True,
) -> SavedPoll:
    """Save a poll, then (deliver) fan its matches out to the chats as the delivery worker
    would."""
    match = match or everyone(ANN)
    if isinstance(match, Audience):
        await subscribe(db, match)
    saved = await db.storage.save_poll(
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
            body_digest=body_digest,
            new_items_only=new_items_only,
            complete=complete,
        ),
        match=match,
    )
    if deliver:
        await fan_out(db.storage, now, burst_limit)
    return saved


async def queue(db: Db, feed: Feed, user: int, count: int) -> list[int]:
    """Queue `count` alerts for one user; return their outbox ids."""
    before = {row["id"] for row in db.outbox()}
    stories = [candidate(feed, f"Ukraine story for {user} #{n}") for n in range(count)]
    await save(db, feed, *stories, match=Audience({user: ("Ukraine",)}, private=True))
    return [row["id"] for row in db.outbox() if row["id"] not in before]
