"""Stories and a poll's save: the stories, the queries they matched and the feed's state.

As in the SQLite backend (sqlite/stories.py), which stories are new and which repeat another
is decided by pure functions (bot.ingest.stories); this module reads their inputs and writes
what they return. One poll is saved at a time (MATCH_ORDER_LOCK, see record_matches).
"""

import json
from collections.abc import Mapping, Sequence

from bot.ingest.stories import new_to_feed
from bot.storage.models import PollToSave, SavedPoll, StoryMatcher, StoryToSave
from bot.storage.postgres.connection import Connection
from bot.storage.postgres.outlets import OutletsMixin
from bot.storage.postgres.poll_rows import feed_keys, insert_stories
from bot.storage.postgres.schema import LOCK_SQL, MATCH_ORDER_LOCK
from bot.storage.rows import feed_after_poll, listed_undated, stories_of

Matches = tuple[str, ...]


class StoriesMixin(OutletsMixin):
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
                known = await feed_keys(db, poll.feed_id, [c.story.key for c in poll.stories])
            new_now = new_to_feed(stories_of(poll.stories), known or set())
            for position, (candidate, new) in enumerate(zip(poll.stories, new_now, strict=True)):
                if new and candidate.alertable:
                    matched[position] = match(candidate)
        # This process's saves one at a time, each until its titles are in the index: the
        # advisory lock ends at the commit, before the titles are added.
        async with self._titles_turn():
            return await self._save_poll(poll, matched, match)

    async def _save_poll(
        self, poll: PollToSave, matched: Mapping[int, Matches], match: StoryMatcher
    ) -> SavedPoll:
        async with self._transaction() as db:
            # One poll's save at a time, as SQLite's single writer has it: a story two feeds
            # publish at once is recognised as a repeat, and match ids follow commit order.
            await lock_match_order(db)
            known = await feed_keys(db, poll.feed_id, [c.story.key for c in poll.stories])
            if known is None:
                return SavedPoll(new_stories=0, matched=0, feed_removed=True)
            fresh = [
                (position, candidate)
                for position, (candidate, new) in enumerate(
                    zip(poll.stories, new_to_feed(stories_of(poll.stories), known), strict=True)
                )
                if new
            ]
            similar = await self._similar_titles(db, poll, fresh)
            originals, edits = await insert_stories(db, poll, fresh, similar)
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
            listed = listed_undated(poll, known)
            if listed:
                await db.execute(
                    """UPDATE stories SET listed_at = %s
                       WHERE feed_id = %s AND key = ANY(%s::text[])""",
                    (poll.now, poll.feed_id, listed),
                )
            await db.execute(
                """UPDATE feeds SET url = %s, title = %s, etag = %s, last_modified = %s,
                       next_poll_at = %s, last_polled_at = %s, last_ok_at = %s, failures = 0,
                       last_error = %s, primed = TRUE, entries_seen = entries_seen + %s,
                       body_digest = %s, lease_owner = NULL, lease_until = NULL,
                       full_parsed_at = CASE WHEN %s THEN %s ELSE full_parsed_at END
                   WHERE id = %s""",
                feed_after_poll(poll, len(fresh)),
            )
        if self._titles is not None and poll.alerts_enabled:
            # Committed: later polls may find these titles.
            for story_id, _, c in originals:
                if c.alertable:
                    self._titles.add(story_id, poll.feed_id, c.story.normalised_title, poll.now)
                    # Others' later saves took the lock after this one: their ids are higher.
                    self._titles_after = max(self._titles_after, story_id)
        return SavedPoll(new_stories=len(fresh), matched=stored, edits=edits)

    async def _similar_titles(
        self, db: Connection, poll: PollToSave, fresh: Sequence[tuple[int, StoryToSave]]
    ) -> dict[int, int | None]:
        """Per new story that may alert, an earlier story of another feed with a
        near-identical title (looked up while the poll holds MATCH_ORDER_LOCK)."""
        positions = [p for p, c in fresh if c.alertable]
        if not poll.alerts_enabled or not positions:
            return {}
        index = await self._title_index(db, poll.now, poll.title_dedup_seconds)
        return {
            p: index.find(poll.stories[p].story.normalised_title, poll.feed_id) for p in positions
        }


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
