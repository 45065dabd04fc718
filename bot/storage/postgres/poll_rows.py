"""A poll's rows: which of its stories the feed has, the stories inserted, and the alert
edits their copies queue. Called inside save_poll's transaction (stories.py), as in
sqlite/poll_rows.py.
"""

from collections.abc import Collection, Mapping, Sequence

from bot.ingest.stories import find_repeats
from bot.storage.models import PollToSave, StoryToSave
from bot.storage.postgres.connection import Connection
from bot.storage.rows import stories_of, story_row


async def feed_keys(db: Connection, feed_id: int, keys: Sequence[str]) -> set[str] | None:
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


async def insert_stories(
    db: Connection,
    poll: PollToSave,
    fresh: list[tuple[int, StoryToSave]],
    similar: Mapping[int, int | None],
) -> tuple[list[tuple[int, int, StoryToSave]], int]:
    """Insert new stories; return (id, position in the poll, story) of the originals, and
    how many alert edits the copies queued.

    `similar` gives, per position, an earlier story of another feed with a near-identical
    title (bot.ingest.similar_titles)."""
    stories = stories_of(c for _, c in fresh)
    if not stories:
        return [], 0
    links = sorted({story.canonical_link for story in stories if story.canonical_link})
    titles = sorted({story.normalised_title for story in stories if story.normalised_title})
    by_link, by_title = await _first_ids(db, links, titles, poll.now - poll.title_dedup_seconds)
    near = [similar.get(position) for position, _ in fresh] if similar else []
    repeats = find_repeats(stories, by_link, by_title, near)
    async with db.cursor() as cursor:
        await cursor.executemany(
            """INSERT INTO stories (feed_id, key, link, canonical_link, title, normalised_title,
                   summary, published_at, seen_at, duplicate_of)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (feed_id, key) DO NOTHING""",
            [
                story_row(poll, story, earlier)
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
    copied = {earlier for earlier in repeats.stored if earlier is not None}
    edits = await _queue_alert_edits(db, copied, poll.feed_id, poll.now) if copied else 0
    originals = [
        (ids[c.story.key], position, c)
        for (position, c), original in zip(fresh, repeats.original, strict=True)
        if original
    ]
    return originals, edits


async def _first_ids(
    db: Connection, links: list[str], titles: list[str], since: float
) -> tuple[dict[str, int], dict[str, int]]:
    """Return the original of the earliest story per canonical link, and per normalised
    title among the stories seen since `since` (a copy's duplicate_of names its original)."""
    cursor = await db.execute(
        """SELECT * FROM (SELECT DISTINCT ON (canonical_link) 0, canonical_link,
                                 coalesce(duplicate_of, id)
                          FROM stories WHERE canonical_link = ANY(%s::text[])
                          ORDER BY canonical_link, id) AS by_link
           UNION ALL
           SELECT * FROM (SELECT DISTINCT ON (normalised_title) 1, normalised_title,
                                 coalesce(duplicate_of, id)
                          FROM stories
                          WHERE normalised_title = ANY(%s::text[]) AND seen_at >= %s
                          ORDER BY normalised_title, id) AS by_title""",
        (links, titles, since),
    )
    by_link: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for by_title_row, value, original in await cursor.fetchall():
        (by_title if by_title_row else by_link)[str(value)] = int(original)
    return by_link, by_title


async def _queue_alert_edits(
    db: Connection, originals: Collection[int], feed_id: int, now: float
) -> int:
    """Queue an edit of each alert, pending or sent, about one of these stories when the
    copy (of feed_id) comes from another feed; return how many were queued or renewed."""
    cursor = await db.execute(
        """INSERT INTO alert_edits (outbox_id, queued_at)
           SELECT o.id, %s FROM outbox o JOIN stories s ON s.id = o.story_id
           WHERE o.story_id = ANY(%s::bigint[]) AND o.kind = 'alert'
               AND o.status IN ('pending', 'sent') AND s.feed_id IS DISTINCT FROM %s
           ORDER BY o.id
           ON CONFLICT (outbox_id) DO UPDATE SET status = 'pending',
               generation = alert_edits.generation + 1, attempts = 0, next_attempt_at = 0,
               error = NULL, done_at = NULL""",
        (now, sorted(originals), feed_id),
    )
    return max(cursor.rowcount, 0)
