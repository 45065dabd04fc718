"""Stories and a poll's save: the stories, the queries they matched and the feed's state.

Which stories are new and which repeat another (bot.ingest.stories) is decided by pure
functions; this module reads their inputs and writes what they return. Who gets an alert is
decided later, at delivery (fan-out on read: bot.delivery.fanout, sqlite/claims.py).
"""

import sqlite3
from collections.abc import Mapping, Sequence

from bot.ingest.stories import new_to_feed
from bot.storage.models import PollToSave, SavedPoll, StoryMatcher
from bot.storage.rows import stories_of
from bot.storage.sqlite.connection import chunks, marks, serialized
from bot.storage.sqlite.outlets import OutletsMixin
from bot.storage.sqlite.poll_rows import Matches, Original, save_poll_rows


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
                zip(poll.stories, new_to_feed(stories_of(poll.stories), known), strict=True)
            ):
                if new and candidate.alertable:
                    matched[position] = match(candidate)
        saved = await self._save_poll(poll, matched, match)
        self._leases.release(poll.feed_id)
        return saved

    @serialized
    async def _known_keys_now(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        # A feed removed meanwhile has no stories left under its id; the save says so.
        found = await self._on_writer_thread(lambda db: feed_keys(db, feed_id, keys))
        return found or set()

    @serialized
    async def _save_poll(
        self, poll: PollToSave, matched: Mapping[int, Matches], match: StoryMatcher
    ) -> SavedPoll:
        """The transaction, as one call on the writer's thread (poll_rows.py says why)."""
        matches = dict(matched)
        similar = await self._similar_titles(poll, matches)
        originals: list[Original] = []
        while True:
            saved = await self._transaction_on_writer(
                lambda db: save_poll_rows(db, poll, matches, similar, originals)
            )
            if isinstance(saved, SavedPoll):
                break
            # Stories the look before found known and the transaction new (pruned since):
            # matched here, the writer held, and saved again; rare.
            matches.update((p, match(poll.stories[p])) for p in saved.positions)
            similar.update(await self._similar_titles(poll, matches))
            originals.clear()
        if self._titles is not None:  # committed: later polls may find these titles
            for story_id, title in originals:
                self._titles.add(story_id, poll.feed_id, title, poll.now)
        return saved

    async def _similar_titles(
        self, poll: PollToSave, matches: Mapping[int, Matches]
    ) -> dict[int, int | None]:
        """Per story to be matched (new, may alert), an earlier story of another feed with a
        near-identical title; looked up on the loop, where the index changes, while the save
        holds the writer (so no poll commits a title in between)."""
        if not poll.alerts_enabled or not matches:
            return {}
        index = await self._title_index(poll.now, poll.title_dedup_seconds)
        return {
            p: index.find(poll.stories[p].story.normalised_title, poll.feed_id) for p in matches
        }


def feed_keys(db: sqlite3.Connection, feed_id: int, keys: Sequence[str]) -> set[str] | None:
    """Return which of these keys the feed has stored; None if the feed is gone."""
    known: set[str] = set()
    for chunk in chunks(keys) or [()]:
        # The feed's row, joined to its stories with these keys: no row, no feed. (An empty
        # IN list would make SQLite scan the index: no keys, no join.)
        sql = "SELECT NULL FROM feeds WHERE id = ?"
        if chunk:
            sql = f"""SELECT stories.key FROM feeds LEFT JOIN stories
                         ON stories.feed_id = feeds.id AND stories.key IN ({marks(chunk)})
                      WHERE feeds.id = ?"""
        rows = db.execute(sql, (*chunk, feed_id)).fetchall()
        if not rows:
            return None
        known.update(str(row[0]) for row in rows if row[0] is not None)
    return known
