"""A poll's rows, written by plain sqlite3 calls on the writer connection's own thread.

save_poll (stories.py) runs its whole transaction as one call there (SqliteBase._on_writer):
every statement an aiosqlite await would be a hop to that thread and back through the event
loop, and in a cycle of 500 polls the writer's lock was held for ~9 hops per poll, each
waiting its turn behind the loop's other callbacks (bench: the steady poll cycle).
"""

import itertools
import json
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.ingest.stories import find_repeats, new_to_feed
from bot.storage.models import PollToSave, SavedPoll, StoryToSave
from bot.storage.rows import feed_after_poll, listed_undated, stories_of, story_row
from bot.storage.sqlite.connection import IN_CHUNK, chunks, marks

Matches = tuple[str, ...]
# An original story that may alert, stored by the poll: (id, normalised title), for the
# near-identical titles index once the transaction committed (outlets.py).
Original = tuple[int, str]
# The columns of story_row (bot.storage.rows).
_STORY_COLUMNS = 10


@dataclass(frozen=True)
class Unmatched:
    """The transaction found stories new that were not matched before it (one pruned since
    the look before it): nothing was written; match these positions and save again."""

    positions: tuple[int, ...]


def save_poll_rows(
    db: sqlite3.Connection,
    poll: PollToSave,
    matched: Mapping[int, Matches],
    similar: Mapping[int, int | None],
    originals_out: list[Original],
) -> SavedPoll | Unmatched:
    """Write a poll's stories, the queries each new one matched and the feed's state, in the
    transaction the caller opened; or say which new stories still need matching.

    `similar` gives, per story matched, an earlier one of another feed with a near-identical
    title; the originals that may alert are appended to originals_out."""
    found = _look_up(db, poll)
    if found is None:
        return SavedPoll(new_stories=0, matched=0, feed_removed=True)
    fresh = [
        (position, candidate)
        for position, (candidate, new) in enumerate(
            zip(poll.stories, new_to_feed(stories_of(poll.stories), found.keys), strict=True)
        )
        if new
    ]
    if poll.alerts_enabled:
        # Matching reads the index, which the event loop changes: it never runs here.
        missing = tuple(p for p, c in fresh if c.alertable and p not in matched)
        if missing:
            return Unmatched(missing)
    originals, edits = _insert_stories(db, poll, fresh, similar, found) if fresh else ([], 0)
    originals_out.extend(
        (story_id, c.story.normalised_title)
        for story_id, _, c in originals
        if poll.alerts_enabled and c.alertable
    )
    stored = 0
    if poll.alerts_enabled:
        # What matching saw of each story it ran on, for the dry run (/try).
        db.executemany(
            "INSERT INTO story_texts (story_id, seen_at, packed) VALUES (?, ?, ?)",
            [
                (story_id, poll.now, c.packed)
                for story_id, _, c in originals
                if c.packed and c.alertable
            ],
        )
        stored = _record_matches(
            db,
            [(story_id, matched[position]) for story_id, position, c in originals if c.alertable],
            poll.now,
        )
    for chunk in chunks(listed_undated(poll, found.keys)):
        db.execute(
            f"UPDATE stories SET listed_at = ? WHERE feed_id = ? AND key IN ({marks(chunk)})",
            (poll.now, poll.feed_id, *chunk),
        )
    db.execute(
        """UPDATE feeds SET url = ?, title = ?, etag = ?, last_modified = ?,
               next_poll_at = ?, last_polled_at = ?, last_ok_at = ?, failures = 0,
               last_error = ?, primed = TRUE, entries_seen = entries_seen + ?,
               body_digest = ?, full_parsed_at = CASE WHEN ? THEN ? ELSE full_parsed_at END
           WHERE id = ?""",
        feed_after_poll(poll, len(fresh)),
    )
    return SavedPoll(new_stories=len(fresh), matched=stored, edits=edits)


@dataclass(frozen=True)
class _Found:
    """What the poll's lookup found: the keys the feed has stored, and the original of the
    earliest story per canonical link, and per normalised title seen in the window."""

    keys: set[str]
    by_link: dict[str, int]
    by_title: dict[str, int]


def _look_up(db: sqlite3.Connection, poll: PollToSave) -> _Found | None:
    """Look up the feed's stored keys and the earliest stories by link and by title in one
    statement (per IN_CHUNK values of each); None if the feed is gone.

    The links and titles are those of all the poll's stories, not only the new ones (which
    only the keys tell): one statement fewer a poll, for a few more index probes when a poll
    parsed known items too (a feed's first poll after a start). Only the new ones' values
    are looked up in what this returns (find_repeats)."""
    stories = stories_of(poll.stories)
    keys = [story.key for story in stories]
    links = sorted({story.canonical_link for story in stories if story.canonical_link})
    titles = sorted({story.normalised_title for story in stories if story.normalised_title})
    found = _Found(set(), {}, {})
    since = poll.now - poll.title_dedup_seconds
    # At least one statement, with the feed's part: a poll with no stories has a feed too.
    parts_of = list(
        itertools.zip_longest(chunks(keys), chunks(links), chunks(titles), fillvalue=())
    )
    for key_chunk, link_chunk, title_chunk in parts_of or [((), (), ())]:
        # The feed's row, joined to its stories with these keys: no row, no feed. A part
        # only for values given: an empty IN list would make SQLite scan the index.
        parts = ["SELECT 2, NULL, NULL, NULL FROM feeds WHERE id = ?"]
        if key_chunk:
            parts[0] = f"""SELECT 2, stories.key, NULL, NULL FROM feeds LEFT JOIN stories
                   ON stories.feed_id = feeds.id AND stories.key IN ({marks(key_chunk)})
                WHERE feeds.id = ?"""
        if link_chunk:
            parts.append(f"""SELECT 0, canonical_link, min(id), duplicate_of FROM stories
                   WHERE canonical_link IN ({marks(link_chunk)}) GROUP BY canonical_link""")
        if title_chunk:
            parts.append(f"""SELECT 1, normalised_title, min(id), duplicate_of FROM stories
                   WHERE normalised_title IN ({marks(title_chunk)}) AND seen_at >= ?
                   GROUP BY normalised_title""")
        window = (since,) if title_chunk else ()
        rows = db.execute(
            " UNION ALL ".join(parts),
            (*key_chunk, poll.feed_id, *link_chunk, *title_chunk, *window),
        ).fetchall()
        if not any(kind == 2 for kind, *_ in rows):
            return None
        for kind, value, first, original in rows:
            if kind == 2:
                if value is not None:
                    found.keys.add(str(value))
            else:
                # SQLite takes duplicate_of from the min(id) row: a copy points to its
                # original.
                root = first if original is None else original
                (found.by_title if kind else found.by_link)[str(value)] = int(root)
    return found


def _insert_stories(
    db: sqlite3.Connection,
    poll: PollToSave,
    fresh: list[tuple[int, StoryToSave]],
    similar: Mapping[int, int | None],
    found: _Found,
) -> tuple[list[tuple[int, int, StoryToSave]], int]:
    """Insert new stories; return (id, position in the poll, story) of the originals, and
    how many alert edits the copies queued."""
    stories = stories_of(c for _, c in fresh)
    near = [similar.get(position) for position, _ in fresh] if similar else []
    repeats = find_repeats(stories, found.by_link, found.by_title, near)
    ids = _insert_rows(
        db,
        [
            story_row(poll, story, earlier)
            for story, earlier in zip(stories, repeats.stored, strict=True)
        ],
    )
    missing = [story.key for story in stories if story.key not in ids]
    if missing:  # not inserted: stored already (the lookup said not; kept for safety)
        ids.update(_story_ids(db, poll.feed_id, missing))
    if repeats.in_poll:
        db.executemany(
            "UPDATE stories SET duplicate_of = ? WHERE id = ?",
            [(ids[original], ids[copy]) for copy, original in repeats.in_poll],
        )
    copied = {earlier for earlier in repeats.stored if earlier is not None}
    edits = _queue_alert_edits(db, copied, poll.feed_id, poll.now) if copied else 0
    originals = [
        (ids[c.story.key], position, c)
        for (position, c), original in zip(fresh, repeats.original, strict=True)
        if original
    ]
    return originals, edits


def _insert_rows(db: sqlite3.Connection, rows: list[tuple[object, ...]]) -> dict[str, int]:
    """Insert story rows (story_row's order); return key -> id of those inserted.

    One multi-row statement that returns the ids, where executemany and a SELECT of the ids
    were two (executemany cannot return rows)."""
    ids: dict[str, int] = {}
    per_statement = IN_CHUNK // _STORY_COLUMNS
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = ", ".join([f"({marks(chunk[0])})"] * len(chunk))
        inserted = db.execute(
            f"""INSERT INTO stories (feed_id, key, link, canonical_link, title,
                   normalised_title, summary, published_at, seen_at, duplicate_of)
                VALUES {values}
                ON CONFLICT (feed_id, key) DO NOTHING RETURNING key, id""",
            [value for row in chunk for value in row],
        ).fetchall()
        ids.update((str(key), int(story_id)) for key, story_id in inserted)
    return ids


def _queue_alert_edits(
    db: sqlite3.Connection, originals: Collection[int], feed_id: int, now: float
) -> int:
    """Queue an edit of each alert, pending or sent, about one of these stories when the
    copy (of feed_id) comes from another feed; return how many were queued or renewed."""
    queued = 0
    for chunk in chunks(sorted(originals)):
        cursor = db.execute(
            f"""INSERT INTO alert_edits (outbox_id, queued_at)
                SELECT o.id, ? FROM outbox o JOIN stories s ON s.id = o.story_id
                WHERE o.story_id IN ({marks(chunk)}) AND o.kind = 'alert'
                    AND o.status IN ('pending', 'sent') AND s.feed_id IS NOT ?
                ON CONFLICT (outbox_id) DO UPDATE SET status = 'pending',
                    generation = generation + 1, attempts = 0, next_attempt_at = 0,
                    error = NULL, done_at = NULL""",
            (now, *chunk, feed_id),
        )
        queued += max(cursor.rowcount, 0)
    return queued


def _story_ids(db: sqlite3.Connection, feed_id: int, keys: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in chunks(keys):
        rows = db.execute(
            f"SELECT key, id FROM stories WHERE feed_id = ? AND key IN ({marks(chunk)})",
            (feed_id, *chunk),
        )
        ids.update((str(row[0]), int(row[1])) for row in rows)
    return ids


def _record_matches(db: sqlite3.Connection, matches: list[tuple[int, Matches]], now: float) -> int:
    """Store, per new story that matched, the distinct queries it matched: one row per
    story, whatever the audience (the delivery worker fans out when it may send)."""
    rows = [(story_id, json.dumps(queries), now) for story_id, queries in matches if queries]
    db.executemany(
        "INSERT INTO story_matches (story_id, queries, matched_at) VALUES (?, ?, ?)", rows
    )
    return len(rows)
