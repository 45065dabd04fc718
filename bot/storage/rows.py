"""Backend-neutral row shapes: what a poll writes for a story, and an outbox row read back.

Both backends (sqlite/, postgres/) select the same columns in the same order; only how a
column comes out of the driver differs (the other outlets: JSON text from SQLite, a list
from PostgreSQL), so the backend decodes that and this module builds the values.
"""

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.ingest.stories import Story
from bot.storage.models import (
    ChatStatus,
    ChatType,
    OutboxItem,
    PendingRow,
    PollToSave,
    StoryToSave,
)

Outlets = tuple[tuple[str, str | None], ...]


def stories_of(candidates: Iterable[StoryToSave]) -> list[Story]:
    """The parsed stories of these candidates, in order."""
    return [candidate.story for candidate in candidates]


def story_row(poll: PollToSave, story: Story, duplicate_of: int | None) -> tuple[object, ...]:
    """The stories table's values for a story of this poll, in its INSERT's column order."""
    return (
        poll.feed_id,
        story.key,
        story.link,
        story.canonical_link,
        story.title,
        story.normalised_title,
        story.summary,
        story.published.timestamp() if story.published else None,
        poll.now,
        duplicate_of,
    )


def feed_after_poll(poll: PollToSave, new_stories: int) -> tuple[object, ...]:
    """The values of a saved poll's feed update, in the order both backends' UPDATE takes
    them: url, title, etag, last_modified, next_poll_at, last_polled_at, last_ok_at,
    last_error, entries_seen added, body_digest, whether the poll listed every entry and its
    time (full_parsed_at), and the feed's id."""
    return (
        *(poll.url, poll.title, poll.etag, poll.last_modified, poll.next_poll_at),
        *(poll.now, poll.now, poll.warning, new_stories, poll.body_digest),
        *(poll.full_listing, poll.now, poll.feed_id),
    )


def listed_undated(poll: PollToSave, stored: set[str]) -> list[str]:
    """Return the keys of the stored undated stories a full parse listed (retention keeps
    an undated story while its feed lists it: a re-sighting would alert again); none after
    a parse of the new items alone, or one that hit an error."""
    if not poll.full_listing:
        return []
    return [
        c.story.key for c in poll.stories if c.story.published is None and c.story.key in stored
    ]


def first_outlet_per_feed(copies: Iterable[Sequence[Any]]) -> Outlets:
    """The other outlets of an alert's story, (feed title, link): the first copy of each
    feed, in id order."""
    seen: dict[str, str | None] = {}
    for outlet, link in copies:
        seen.setdefault(str(outlet), link)
    return tuple(seen.items())


# Calling an enum class runs enum.py's Python code, several calls deep: a dict lookup is a
# fraction of that, per row of the thousands the delivery worker loads (an unknown value
# still raises the enum's ValueError).
_CHAT_STATUSES = {status.value: status for status in ChatStatus}
_CHAT_TYPES = {kind.value: kind for kind in ChatType}


def chat_status(stored: str) -> ChatStatus:
    """The ChatStatus of this stored value."""
    return _CHAT_STATUSES.get(stored) or ChatStatus(stored)


def chat_type(stored: str) -> ChatType:
    """The ChatType of this stored value."""
    return _CHAT_TYPES.get(stored) or ChatType(stored)


def pending_row(row: Sequence[Any]) -> PendingRow:
    """A pending outbox row as both backends list it: id, chat, kind, next attempt, type."""
    return PendingRow(int(row[0]), int(row[1]), str(row[2]), float(row[3]), chat_type(row[4]))


@functools.lru_cache(maxsize=4096)
def matched_queries(stored: str) -> tuple[str, ...]:
    """An outbox row's matched queries, from the JSON list stored (a chat's rows repeat
    its queries: the delivery worker loads rows by the thousand, each decoded once)."""
    return tuple(json.loads(stored))


def outbox_item(row: Sequence[Any], also: Outlets) -> OutboxItem:
    """An outbox row as both backends select it (columns 0-18 and 20; 19, the other
    outlets, decoded by the backend into `also`)."""
    published = row[10]
    return OutboxItem(
        id=int(row[0]),
        kind=str(row[1]),
        chat_id=int(row[2]),
        chat_status=chat_status(row[3]),
        matched=matched_queries(row[4]),
        attempts=int(row[5]),
        status=str(row[6]),
        title=row[7] or "",
        link=row[8],
        summary=row[9],
        published=datetime.fromtimestamp(published, UTC) if published is not None else None,
        source=str(row[11]),
        broadcast_id=row[12],
        text=row[13],
        thread_id=None if row[14] is None else int(row[14]),
        chat_language=row[15],
        next_attempt_at=float(row[16]),
        story_id=None if row[17] is None else int(row[17]),
        chat_type=chat_type(row[18]),
        also=also,
        show_matched=bool(row[20]),
    )
