"""The SQLite schema's migrations from 12 on (schema.py holds 1 to 11): append new steps here."""

from bot.storage.migration import Migration

LATER_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        # One alert per story per forum topic (the same query in two topics is two
        # subscriptions, each alerting its topic): UNIQUE (story_id, chat_id) was a table
        # constraint, which SQLite drops only by rebuilding the table.
        "outbox: a story once per forum topic",
        (
            """CREATE TABLE outbox_by_topic (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'broadcast')),
                story_id INTEGER REFERENCES stories(id), broadcast_id INTEGER,
                chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
                matched TEXT NOT NULL DEFAULT '[]',
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'blocked', 'failed', 'dropped')),
                attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0,
                error TEXT, created_at REAL NOT NULL, sent_at REAL, thread_id INTEGER,
                UNIQUE (broadcast_id, chat_id)
            )""",
            """INSERT INTO outbox_by_topic SELECT id, kind, story_id, broadcast_id, chat_id,
                   matched, status, attempts, next_attempt_at, error, created_at, sent_at,
                   thread_id FROM outbox""",
            "DROP TABLE outbox",
            "ALTER TABLE outbox_by_topic RENAME TO outbox",
            """CREATE UNIQUE INDEX outbox_story_once
                   ON outbox (story_id, chat_id, coalesce(thread_id, 0))""",
            "CREATE INDEX outbox_pending ON outbox (status, id)",
            "CREATE INDEX outbox_sent ON outbox (sent_at)",
            "CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status)",
            "CREATE INDEX outbox_by_chat ON outbox (chat_id, created_at)",
        ),
    ),
    Migration(
        # One row the health check rewrites: a commit proves the database takes writes.
        "health probe",
        (
            """CREATE TABLE health_probe (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                written_at REAL NOT NULL
            )""",
        ),
    ),
    Migration(
        # One alert per story across outlets: a sent alert's Telegram message id, so a copy
        # of its story from another feed can edit it ("Also: Reuters, BBC"), and the edits
        # waiting, one per alert (repeated outlets coalesce; generation counts the copies
        # queued, so an edit that rendered fewer stays pending).
        "alert edits for stories from other outlets",
        (
            "ALTER TABLE outbox ADD COLUMN message_id INTEGER",
            """CREATE TABLE alert_edits (
                outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'done', 'failed')),
                generation INTEGER NOT NULL DEFAULT 1,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL NOT NULL DEFAULT 0,
                error TEXT,
                queued_at REAL NOT NULL,
                done_at REAL
            )""",
            "CREATE INDEX alert_edits_pending ON alert_edits (next_attempt_at) "
            "WHERE status = 'pending'",
        ),
    ),
    Migration(
        # Channels linked as subscribers: a channel cannot talk to the bot, so the person who
        # linked it (from their private chat) is kept, to be told when the bot loses the right
        # to post there; show_matched turns the "Matched" line on in the channel's alerts.
        "linked channels",
        (
            """CREATE TABLE channels (
                chat_id INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
                linked_by INTEGER NOT NULL,
                created_at REAL NOT NULL,
                show_matched INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX channels_linked_by ON channels (linked_by)",
        ),
    ),
    Migration(
        # Delivery across instances (bot/storage/leases.py): who holds a pending row and
        # until when, and the shared send budget's token bucket. SQLite runs one instance,
        # which holds every lease; the columns keep both backends alike (no index: the one
        # process never renews or sweeps, and every outbox write would pay for it).
        "outbox leases and the shared send budget",
        (
            "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
            "ALTER TABLE outbox ADD COLUMN lease_until REAL",
            "ALTER TABLE delivery_state ADD COLUMN send_tokens REAL NOT NULL DEFAULT 0",
            "ALTER TABLE delivery_state ADD COLUMN send_tokens_at REAL NOT NULL DEFAULT 0",
        ),
    ),
    Migration(
        # Marking a row sent moved its entry in both indexes holding the status (a delete
        # and an insert in each), per row the delivery worker records. Rows are looked up
        # by status only to find the pending ones, and by broadcast only for a broadcast's:
        # indexing just those leaves one delete per alert or digest sent. Counting every
        # row by status (outbox_counts) scans the table instead.
        "outbox: index pending rows and broadcast rows only",
        (
            "DROP INDEX outbox_pending",
            "CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending'",
            "DROP INDEX outbox_by_broadcast",
            """CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status)
                   WHERE broadcast_id IS NOT NULL""",
        ),
    ),
    Migration(
        # An undated story is all that remembers its entry while the feed lists it (a
        # re-sighting would alert again: no date says it is old), so retention keeps it;
        # but not forever once the feed dropped it. listed_at: the last full parse of its
        # feed that listed it (bot/ingest/incremental.py parses each feed in full at least
        # daily); full_parsed_at: the feed's last full parse. A story the last full parse
        # did not list, and no full parse listed within the retention window, can go.
        "stories: when an undated story was last listed",
        (
            "ALTER TABLE stories ADD COLUMN listed_at REAL",
            "ALTER TABLE feeds ADD COLUMN full_parsed_at REAL",
        ),
    ),
)
