"""Stories and a poll's save: the stories, the queries they matched and the feed's state.

As in the SQLite backend (sqlite/stories.py), which stories are new and which repeat another
is decided by pure functions (bot.ingest.stories); this module reads their inputs and writes
what they return. One poll is saved at a time (MATCH_ORDER_LOCK, see record_matches).
"""

import json
from collections.abc import Iterable, Mapping, Sequence

from bot.ingest.stories import Story, find_repeats, new_to_feed
from bot.storage.models import PollToSave, SavedPoll, StoryMatcher, StoryToSave
from bot.storage.postgres.connection import Connection, PostgresBase
from bot.storage.postgres.schema import LOCK_SQL, MATCH_ORDER_LOCK

Matches = tuple[str, ...]


class StoriesMixin(PostgresBase):
    """The stories table, and save_poll: the unit of work of one successful poll."""

    async def save_poll(self, poll: PollToSave, match: StoryMatcher) -> SavedPoll:
        """Store a poll's stories and the queries each matched, in one transaction."""
        # Matching runs before the transaction, on the stories the feed had not stored a
        # moment before; what is new is decided again inside it, and a story only it finds
        # new is matched there (as in the SQLite backend).
        matched: dict[int, Matches] = {}
        if poll.alerts_enabled and poll.new_items_only:
            matched = {
                position: match(candidate)
                for position, candidate in enumerate(poll.stories)
                if candidate.alertable
            }
        elif poll.alerts_enabled and any(c.alertable for c in poll.stories):
            async with self._transaction() as db:
                known = await _feed_keys(db, poll.feed_id, [c.story.key for c in poll.stories])
            for position, (candidate, new) in enumerate(
                zip(poll.stories, new_to_feed(_stories(poll.stories), known or set()), strict=True)
            ):
                if new and candidate.alertable:
                    matched[position] = match(candidate)
        return await self._save_poll(poll, matched, match)

    async def _save_poll(
        self, poll: PollToSave, matched: Mapping[int, Matches], match: StoryMatcher
    ) -> SavedPoll:
        async with self._transaction() as db:
            # One poll's save at a time, as SQLite's single writer has it: a story two feeds
            # publish at once is recognised as a repeat, and match ids follow commit order.
            await lock_match_order(db)
            known = await _feed_keys(db, poll.feed_id, [c.story.key for c in poll.stories])
            if known is None:
                return SavedPoll(new_stories=0, matched=0, feed_removed=True)
            fresh = [
                (position, candidate)
                for position, (candidate, new) in enumerate(
                    zip(poll.stories, new_to_feed(_stories(poll.stories), known), strict=True)
                )
                if new
            ]
            originals = await _insert_stories(db, poll, fresh)
            stored = 0
            if poll.alerts_enabled:
                # What matching saw of each story it ran on, for the dry run (/try).
                texts = [
                    (story_id, poll.now, c.packed)
                    for story_id, _, c in originals
                    if c.alertable and c.packed
                ]
                if texts:
                    async with db.cursor() as cursor:
                        await cursor.executemany(
                            """INSERT INTO story_texts (story_id, seen_at, packed)
                               VALUES (%s, %s, %s)""",
                            texts,
                        )
                stored = await record_matches(
                    db,
                    [
                        (story_id, matched[position] if position in matched else match(c))
                        for story_id, position, c in originals
                        if c.alertable
                    ],
                    poll.now,
                )
            await db.execute(
                """UPDATE feeds SET url = %s, title = %s, etag = %s, last_modified = %s,
                       next_poll_at = %s, last_polled_at = %s, last_ok_at = %s, failures = 0,
                       last_error = %s, primed = TRUE, entries_seen = entries_seen + %s,
                       body_digest = %s
                   WHERE id = %s""",
                (
                    poll.url,
                    poll.title,
                    poll.etag,
                    poll.last_modified,
                    poll.next_poll_at,
                    poll.now,
                    poll.now,
                    poll.warning,
                    len(fresh),
                    poll.body_digest,
                    poll.feed_id,
                ),
            )
        return SavedPoll(new_stories=len(fresh), matched=stored)


async def lock_match_order(db: Connection) -> None:
    """Wait for (and hold until this transaction ends) the right to take match ids.

    A sequence hands out ids in the order transactions ask, not the order they commit: had
    two polls ids 5 and 6 and 6 committed first, a chat reading "matches after my cursor"
    could move its cursor to 6 and never see 5. Held from before the first id to the
    commit, ids commit in order."""
    await db.execute(LOCK_SQL, (MATCH_ORDER_LOCK,))


async def record_matches(
    db: Connection, matches: Sequence[tuple[int, tuple[str, ...]]], now: float
) -> int:
    """Store, per new story that matched, the distinct queries it matched: one row per story
    (the delivery worker fans out when it may send). Call inside the transaction."""
    rows = [(story_id, json.dumps(queries), now) for story_id, queries in matches if queries]
    if not rows:
        return 0
    await lock_match_order(db)  # re-entrant: a no-op when save_poll already holds it
    async with db.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO story_matches (story_id, queries, matched_at) VALUES (%s, %s, %s)", rows
        )
    return len(rows)


async def _feed_keys(db: Connection, feed_id: int, keys: Sequence[str]) -> set[str] | None:
    """Return which of these keys the feed has stored; None if the feed is gone."""
    cursor = await db.execute(
        """SELECT stories.key FROM feeds LEFT JOIN stories
               ON stories.feed_id = feeds.id AND stories.key = ANY(%s::text[])
           WHERE feeds.id = %s""",
        (list(keys), feed_id),
    )
    rows = await cursor.fetchall()
    if not rows:
        return None
    return {str(row[0]) for row in rows if row[0] is not None}


async def _insert_stories(
    db: Connection, poll: PollToSave, fresh: list[tuple[int, StoryToSave]]
) -> list[tuple[int, int, StoryToSave]]:
    """Insert new stories; return (id, position in the poll, story) of the originals."""
    stories = _stories(c for _, c in fresh)
    if not stories:
        return []
    links = sorted({story.canonical_link for story in stories if story.canonical_link})
    titles = sorted({story.normalised_title for story in stories if story.normalised_title})
    by_link, by_title = await _first_ids(db, links, titles, poll.now - poll.title_dedup_seconds)
    repeats = find_repeats(stories, by_link, by_title)
    async with db.cursor() as cursor:
        await cursor.executemany(
            """INSERT INTO stories (feed_id, key, link, canonical_link, title, normalised_title,
                   summary, published_at, seen_at, duplicate_of)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (feed_id, key) DO NOTHING""",
            [
                _story_row(poll, story, earlier)
                for story, earlier in zip(stories, repeats.stored, strict=True)
            ],
        )
    cursor = await db.execute(
        "SELECT key, id FROM stories WHERE feed_id = %s AND key = ANY(%s::text[])",
        (poll.feed_id, [story.key for story in stories]),
    )
    ids = {str(row[0]): int(row[1]) for row in await cursor.fetchall()}
    if repeats.in_poll:
        async with db.cursor() as cursor:
            await cursor.executemany(
                "UPDATE stories SET duplicate_of = %s WHERE id = %s",
                [(ids[original], ids[copy]) for copy, original in repeats.in_poll],
            )
    return [
        (ids[c.story.key], position, c)
        for (position, c), original in zip(fresh, repeats.original, strict=True)
        if original
    ]


async def _first_ids(
    db: Connection, links: list[str], titles: list[str], since: float
) -> tuple[dict[str, int], dict[str, int]]:
    """Return the id of the earliest story per canonical link, and per normalised title
    among the stories seen since `since`."""
    cursor = await db.execute(
        """SELECT 0, canonical_link, min(id) FROM stories
               WHERE canonical_link = ANY(%s::text[]) GROUP BY canonical_link
           UNION ALL
           SELECT 1, normalised_title, min(id) FROM stories
               WHERE normalised_title = ANY(%s::text[]) AND seen_at >= %s
               GROUP BY normalised_title""",
        (links, titles, since),
    )
    by_link: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for by_title_row, value, first in await cursor.fetchall():
        (by_title if by_title_row else by_link)[str(value)] = int(first)
    return by_link, by_title


def _stories(candidates: Iterable[StoryToSave]) -> list[Story]:
    return [candidate.story for candidate in candidates]


def _story_row(poll: PollToSave, story: Story, duplicate_of: int | None) -> tuple[object, ...]:
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
