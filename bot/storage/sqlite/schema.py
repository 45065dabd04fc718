"""The SQLite schema as forward-only migrations: append a step (to schema_later.py), never
edit one that shipped."""

from bot.storage.migration import Migration
from bot.storage.sqlite.schema_later import LATER_MIGRATIONS

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "users and subscriptions",
        (
            """CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                username TEXT,
                first_name TEXT,
                status TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'paused', 'blocked')),
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
            """CREATE TABLE subscriptions (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                query TEXT NOT NULL,
                display TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (user_id, query)
            )""",
        ),
    ),
    Migration(
        "feeds, stories and the outbox",
        (
            """CREATE TABLE feeds (
                id INTEGER PRIMARY KEY,
                url TEXT NOT NULL UNIQUE,
                title TEXT NOT NULL DEFAULT '',
                trusted INTEGER NOT NULL DEFAULT 0,
                primed INTEGER NOT NULL DEFAULT 0,
                etag TEXT,
                last_modified TEXT,
                added_at REAL NOT NULL,
                next_poll_at REAL NOT NULL DEFAULT 0,
                last_polled_at REAL,
                last_ok_at REAL,
                failures INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                entries_seen INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE stories (
                id INTEGER PRIMARY KEY,
                feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
                key TEXT NOT NULL,
                link TEXT,
                canonical_link TEXT,
                title TEXT NOT NULL,
                normalised_title TEXT NOT NULL,
                summary TEXT,
                published_at REAL,
                seen_at REAL NOT NULL,
                duplicate_of INTEGER REFERENCES stories(id),
                UNIQUE (feed_id, key)
            )""",
            "CREATE INDEX stories_by_link ON stories (canonical_link)",
            "CREATE INDEX stories_by_title ON stories (normalised_title, seen_at)",
            "CREATE INDEX stories_by_seen ON stories (seen_at)",
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'broadcast')),
                story_id INTEGER REFERENCES stories(id),
                broadcast_id INTEGER,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE ON UPDATE CASCADE,
                matched TEXT NOT NULL DEFAULT '[]',
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'blocked', 'failed', 'dropped')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL NOT NULL DEFAULT 0,
                error TEXT,
                created_at REAL NOT NULL,
                sent_at REAL,
                UNIQUE (story_id, user_id),
                UNIQUE (broadcast_id, user_id)
            )""",
            "CREATE INDEX outbox_pending ON outbox (status, id)",
            "CREATE INDEX outbox_sent ON outbox (sent_at)",
        ),
    ),
    Migration(
        "admin broadcasts",
        (
            """CREATE TABLE broadcasts (
                id INTEGER PRIMARY KEY,
                admin_id INTEGER NOT NULL,
                text TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'cancelled', 'sending', 'done')),
                recipients INTEGER NOT NULL DEFAULT 0,
                status_chat_id INTEGER,
                status_message_id INTEGER,
                created_at REAL NOT NULL,
                confirmed_at REAL,
                finished_at REAL
            )""",
            "CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status)",
        ),
    ),
    Migration(
        "retention: find a story's copies",
        # Deleting a story makes SQLite look for stories naming it in duplicate_of (a foreign
        # key); without an index each delete scans the whole table.
        (
            """CREATE INDEX stories_by_duplicate ON stories (duplicate_of)
               WHERE duplicate_of IS NOT NULL""",
        ),
    ),
    Migration(
        # The burst rule counts each chat's recent alerts on every poll that matches them.
        "outbox by chat and time",
        ("CREATE INDEX outbox_by_user ON outbox (user_id, created_at)",),
    ),
    Migration(
        # A subscriber is a chat (private, group, supergroup or channel); a subscription and
        # its alerts may belong to a forum topic (Telegram's message_thread_id).
        "users become chats; forum topics",
        (
            # Renaming the table also renames it in the foreign keys that name it.
            "ALTER TABLE users RENAME TO chats",
            "ALTER TABLE chats RENAME COLUMN first_name TO title",
            """ALTER TABLE chats ADD COLUMN type TEXT NOT NULL DEFAULT 'private'
                   CHECK (type IN ('private', 'group', 'supergroup', 'channel'))""",
            "ALTER TABLE chats ADD COLUMN language TEXT",
            # The one place the sign of an id says what a chat is: rows stored before chat
            # types were, once. Telegram gives private chats positive ids, basic groups
            # negative ones above -10^12, and supergroups (and channels, which talk to the
            # bot only as supergroups did here) ids at or below -10^12. From now on the type
            # comes from Telegram's updates.
            """UPDATE chats SET type = CASE
                   WHEN id > 0 THEN 'private'
                   WHEN id > -1000000000000 THEN 'group'
                   ELSE 'supergroup' END""",
            # first_name held the first sender's name, which names a person, not a group.
            "UPDATE chats SET title = NULL WHERE type != 'private'",
            # A query is unique per (chat, topic), so the old UNIQUE (user_id, query) goes:
            # SQLite drops a table constraint only by rebuilding the table. NULLs are distinct
            # in a UNIQUE index, hence coalesce(thread_id, 0) (0 is never a topic id).
            """CREATE TABLE chat_subscriptions (
                id INTEGER PRIMARY KEY,
                chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
                thread_id INTEGER,
                query TEXT NOT NULL,
                display TEXT NOT NULL,
                created_at REAL NOT NULL
            )""",
            """INSERT INTO chat_subscriptions (id, chat_id, thread_id, query, display, created_at)
               SELECT id, user_id, NULL, query, display, created_at FROM subscriptions""",
            "DROP TABLE subscriptions",
            "ALTER TABLE chat_subscriptions RENAME TO subscriptions",
            """CREATE UNIQUE INDEX subscriptions_by_chat
                   ON subscriptions (chat_id, coalesce(thread_id, 0), query)""",
            # Renaming a column renames it in the table's UNIQUE constraints too.
            "ALTER TABLE outbox RENAME COLUMN user_id TO chat_id",
            "ALTER TABLE outbox ADD COLUMN thread_id INTEGER",
            "DROP INDEX outbox_by_user",
            "CREATE INDEX outbox_by_chat ON outbox (chat_id, created_at)",
        ),
    ),
    Migration(
        # A digest of the last saved poll's response: servers that ignore conditional GET
        # send the same body again, which is then not parsed.
        "feeds remember their last body",
        ("ALTER TABLE feeds ADD COLUMN body_digest TEXT",),
    ),
    Migration(
        # Fan-out on read: a poll stores which queries each new story matched, one row per
        # story; the delivery worker works out each chat's pending stories when it may send
        # to it, from the chat's cursor (the last match it dealt with) and its subscriptions
        # (each counts matches stored after it was). AUTOINCREMENT: match ids never go back,
        # even once the newest rows are deleted, so a cursor never skips a later match.
        # The watermark: every chat has dealt with every match up to it.
        "fan-out on read: story matches and chat cursors",
        (
            """CREATE TABLE story_matches (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
                queries TEXT NOT NULL,
                matched_at REAL NOT NULL
            )""",
            "CREATE INDEX story_matches_by_story ON story_matches (story_id)",
            "ALTER TABLE chats ADD COLUMN match_cursor INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE subscriptions ADD COLUMN start_match INTEGER NOT NULL DEFAULT 0",
            """CREATE TABLE delivery_state (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                watermark INTEGER NOT NULL
            )""",
            "INSERT INTO delivery_state (id, watermark) VALUES (1, 0)",
            # A paused or blocked chat's claims queue nothing and write nothing; when it is
            # active again its cursor jumps to the newest match, so it gets what is new from
            # then on, not what matched meanwhile (whichever code path reactivates it).
            """CREATE TRIGGER chats_reactivated AFTER UPDATE OF status ON chats
               WHEN NEW.status = 'active' AND OLD.status != 'active'
               BEGIN
                   UPDATE chats SET match_cursor = (SELECT coalesce(max(seq), 0)
                       FROM sqlite_sequence WHERE name = 'story_matches')
                   WHERE id = NEW.id;
               END""",
        ),
    ),
    Migration(
        # The dry run (/try): what live matching saw of each story it matched for (its
        # analysis, packed), and a full-text index of its words and lemma keys, filled
        # shortly after the poll (indexed = 0 until then) so the poll's own write stays
        # small. Contentless: the tokens are recomputed from `packed` to take a story out.
        "dry run: story texts and their search index",
        (
            """CREATE TABLE story_texts (
                story_id INTEGER PRIMARY KEY REFERENCES stories(id) ON DELETE CASCADE,
                seen_at REAL NOT NULL,
                packed BLOB NOT NULL,
                indexed INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX story_texts_unindexed ON story_texts (story_id) WHERE indexed = 0",
            "CREATE INDEX story_texts_seen ON story_texts (seen_at)",
            """CREATE VIRTUAL TABLE story_search
               USING fts5(keys, content='', detail=none, tokenize='ascii')""",
        ),
    ),
    Migration(
        # Time zone, quiet hours, digest times (minutes after local midnight); no row: UTC,
        # instant alerts. What it holds are digest rows, not sent before next_attempt_at.
        "chats' delivery schedules",
        (
            """CREATE TABLE chat_schedules (
                chat_id INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
                timezone TEXT NOT NULL, quiet_start INTEGER, quiet_end INTEGER,
                digest_times TEXT NOT NULL, updated_at REAL NOT NULL
            )""",
        ),
    ),
    Migration(
        # Tuning from an alert's buttons: a subscription muted until a time (NULL: not
        # muted), and the feeds a chat hid from all its alerts. Claims skip both, and the
        # chat's cursor moves past what they held back, so it is never sent later.
        "muted subscriptions and hidden sources",
        (
            "ALTER TABLE subscriptions ADD COLUMN muted_until REAL",
            """CREATE TABLE hidden_feeds (
                chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
                feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
                hidden_at REAL NOT NULL,
                PRIMARY KEY (chat_id, feed_id)
            ) WITHOUT ROWID""",
        ),
    ),
    *LATER_MIGRATIONS,
)

SCHEMA_VERSION = len(MIGRATIONS)
