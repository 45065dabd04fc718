"""Stories and a poll's save: the stories, the queries they matched and the feed's state.

Which stories are new and which repeat another (bot.ingest.stories) is decided by pure
functions; this module reads their inputs and writes what they return. Who gets an alert is
decided later, at delivery (fan-out on read: bot.delivery.fanout, sqlite/claims.py).
"""

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence

from bot.ingest.stories import Story, find_repeats, new_to_feed
from bot.storage.models import PollToSave, SavedPoll, StoryMatcher, StoryToSave
from bot.storage.sqlite.connection import chunks, marks, serialized
from bot.storage.sqlite.outlets import OutletsMixin

Matches = tuple[str, ...]


class StoriesMixin(OutletsMixin):
    """The stories table, and save_poll: the unit of work of one successful poll."""

    async def save_poll(self, poll: PollToSave, match: StoryMatcher) -> SavedPoll:
        """Store a poll's stories and the queries each matched, in one transaction.

        Only stories new to the feed and not already known from another feed (same canonical
        link, or same or near-identical title within the dedup window) are matched; `match`
        gives the distinct queries each matches, stored as one row per story. A copy from
        another feed queues an edit of the alerts about its original (outlets.py).
        """
        # Matching runs before the write transaction, on the stories the feed had not stored
        # a moment before, so the writer is not held while the index is searched. What is
        # new is decided again inside the transaction; a story only it finds new (one pruned
        # meanwhile) is matched there. The moment-before lookup is a short statement on the
        # writer, not on the reader: the reader serves what people wait for (/list), and 500
        # polls' lookups queued there made a /list wait up to 2 s in a cold cycle (bench).
        # A poll that parsed only what its last saved poll did not have (incremental) has
        # hardly any known stories: they are matched without the lookup, which would cost
        # every poll of a cycle a turn of the writer (bench: the steady cycle).
        matched: dict[int, Matches] = {}
        if poll.alerts_enabled and poll.new_items_only:
            matched = {
                position: match(candidate)
                for position, candidate in enumerate(poll.stories)
                if candidate.alertable
            }
        elif poll.alerts_enabled and any(c.alertable for c in poll.stories):
            known = await self._known_keys_now(poll.feed_id, [c.story.key for c in poll.stories])
            for position, (candidate, new) in enumerate(
                zip(poll.stories, new_to_feed(_stories(poll.stories), known), strict=True)
            ):
                if new and candidate.alertable:
                    matched[position] = match(candidate)
        return await self._save_poll(poll, matched, match)

    @serialized
    async def _known_keys_now(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        # A feed removed meanwhile has no stories left under its id; the save says so.
        return await self._feed_keys(feed_id, keys) or set()

    @serialized
    async def _save_poll(
        self, poll: PollToSave, matched: Mapping[int, Matches], match: StoryMatcher
    ) -> SavedPoll:
        async with self._transaction():
            known = await self._feed_keys(poll.feed_id, [c.story.key for c in poll.stories])
            if known is None:
                return SavedPoll(new_stories=0, matched=0, feed_removed=True)
            fresh = [
                (position, candidate)
                for position, (candidate, new) in enumerate(
                    zip(poll.stories, new_to_feed(_stories(poll.stories), known), strict=True)
                )
                if new
            ]
            originals, edits = await self._insert_stories(poll, fresh)
            stored = 0
            if poll.alerts_enabled:
                # What matching saw of each story it ran on, for the dry run (/try).
                texts = [
                    (story_id, poll.now, c.packed)
                    for story_id, _, c in originals
                    if c.alertable and c.packed
                ]
                if texts:  # each statement is a turn of the loop while the writer is held
                    await self._db.executemany(
                        "INSERT INTO story_texts (story_id, seen_at, packed) VALUES (?, ?, ?)",
                        texts,
                    )
                stored = await self._record_matches(
                    [
                        (story_id, matched[position] if position in matched else match(c))
                        for story_id, position, c in originals
                        if c.alertable
                    ],
                    poll,
                )
            await self._db.execute(
                """UPDATE feeds SET url = ?, title = ?, etag = ?, last_modified = ?,
                       next_poll_at = ?, last_polled_at = ?, last_ok_at = ?, failures = 0,
                       last_error = ?, primed = TRUE, entries_seen = entries_seen + ?,
                       body_digest = ?
                   WHERE id = ?""",
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
        if self._titles is not None:  # committed: later polls may find these titles
            for story_id, _, c in originals:
                if poll.alerts_enabled and c.alertable:
                    self._titles.add(story_id, poll.feed_id, c.story.normalised_title, poll.now)
        return SavedPoll(new_stories=len(fresh), matched=stored, edits=edits)

    # Each statement is a hop to the connection's thread and back to the loop, which resumes
    # this task only after the callbacks queued before it: in a cycle of 500 polls, the
    # writer's lock is held for hops x that wait, and the polls queue behind it (bench: poll).
    # So reads use execute_fetchall (one hop; execute, fetch and close are three) and a read
    # answers two questions where it can.
    async def _feed_keys(self, feed_id: int, keys: Sequence[str]) -> set[str] | None:
        """Return which of these keys the feed has stored; None if the feed is gone."""
        known: set[str] = set()
        for chunk in chunks(keys) or [()]:
            # The feed's row, joined to its stories with these keys: no row, no feed. (An
            # empty IN list would make SQLite scan the index: no keys, no join.)
            sql = "SELECT NULL FROM feeds WHERE id = ?"
            if chunk:
                sql = f"""SELECT stories.key FROM feeds LEFT JOIN stories
                             ON stories.feed_id = feeds.id AND stories.key IN ({marks(chunk)})
                          WHERE feeds.id = ?"""
            rows = list(await self._db.execute_fetchall(sql, (*chunk, feed_id)))
            if not rows:
                return None
            known.update(str(row[0]) for row in rows if row[0] is not None)
        return known

    async def _insert_stories(
        self, poll: PollToSave, fresh: list[tuple[int, StoryToSave]]
    ) -> tuple[list[tuple[int, int, StoryToSave]], int]:
        """Insert new stories; return (id, position in the poll, story) of the originals, and
        how many alert edits the copies queued."""
        stories = _stories(c for _, c in fresh)
        links = {story.canonical_link for story in stories if story.canonical_link}
        titles = {story.normalised_title for story in stories if story.normalised_title}
        by_link, by_title = await self._first_ids(
            links, titles, since=poll.now - poll.title_dedup_seconds
        )
        # Near-identical titles only for stories that may alert: one alert per story is the
        # point, and a new feed's first poll (hundreds of feeds at start) alerts nobody.
        similar: list[int | None] = []
        if poll.alerts_enabled and any(c.alertable for _, c in fresh):
            index = await self._title_index(poll.now, poll.title_dedup_seconds)
            similar = [
                index.find(c.story.normalised_title, poll.feed_id) if c.alertable else None
                for _, c in fresh
            ]
        repeats = find_repeats(stories, by_link, by_title, similar)
        await self._db.executemany(
            """INSERT INTO stories (feed_id, key, link, canonical_link, title, normalised_title,
                   summary, published_at, seen_at, duplicate_of)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (feed_id, key) DO NOTHING""",
            [
                _story_row(poll, story, earlier)
                for story, earlier in zip(stories, repeats.stored, strict=True)
            ],
        )
        ids = await self._story_ids(poll.feed_id, [story.key for story in stories])
        if repeats.in_poll:
            await self._db.executemany(
                "UPDATE stories SET duplicate_of = ? WHERE id = ?",
                [(ids[original], ids[copy]) for copy, original in repeats.in_poll],
            )
        copied = {earlier for earlier in repeats.stored if earlier is not None}
        edits = await self._queue_alert_edits(copied, poll.feed_id, poll.now) if copied else 0
        originals = [
            (ids[c.story.key], position, c)
            for (position, c), original in zip(fresh, repeats.original, strict=True)
            if original
        ]
        return originals, edits

    async def _first_ids(
        self, links: set[str], titles: set[str], since: float
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Return the original of the earliest story per canonical link, and per normalised
        title among the stories seen since `since`: one statement for both (usually one)."""
        by_link: dict[str, int] = {}
        by_title: dict[str, int] = {}
        pairs = itertools.zip_longest(chunks(sorted(links)), chunks(sorted(titles)), fillvalue=())
        for link_chunk, title_chunk in pairs:
            # A part only for values given: an empty IN list would make SQLite scan the index.
            parts: list[str] = []
            if link_chunk:
                parts.append(f"""SELECT 0, canonical_link, min(id), duplicate_of FROM stories
                       WHERE canonical_link IN ({marks(link_chunk)}) GROUP BY canonical_link""")
            if title_chunk:
                parts.append(f"""SELECT 1, normalised_title, min(id), duplicate_of FROM stories
                       WHERE normalised_title IN ({marks(title_chunk)}) AND seen_at >= ?
                       GROUP BY normalised_title""")
            window = (since,) if title_chunk else ()
            rows = await self._db.execute_fetchall(
                " UNION ALL ".join(parts), (*link_chunk, *title_chunk, *window)
            )
            # SQLite takes duplicate_of from the min(id) row: a copy points to its original.
            for by_title_row, value, first, original in rows:
                root = first if original is None else original
                (by_title if by_title_row else by_link)[str(value)] = int(root)
        return by_link, by_title

    async def _story_ids(self, feed_id: int, keys: list[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for chunk in chunks(keys):
            rows = await self._db.execute_fetchall(
                f"SELECT key, id FROM stories WHERE feed_id = ? AND key IN ({marks(chunk)})",
                (feed_id, *chunk),
            )
            ids.update((str(row[0]), int(row[1])) for row in rows)
        return ids

    async def _record_matches(
        self, matches: list[tuple[int, tuple[str, ...]]], poll: PollToSave
    ) -> int:
        """Store, per new story that matched, the distinct queries it matched: one row per
        story, whatever the audience (the delivery worker fans out when it may send)."""
        rows = [
            (story_id, json.dumps(queries), poll.now) for story_id, queries in matches if queries
        ]
        if not rows:
            return 0
        await self._db.executemany(
            "INSERT INTO story_matches (story_id, queries, matched_at) VALUES (?, ?, ?)", rows
        )
        return len(rows)


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
