"""The PostgreSQL schema's newest migrations (schema.py holds the first ones): append here."""

from bot.storage.migration import Migration

LATER_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        # When an undated story was last listed, for retention (see the SQLite migration).
        "stories: when an undated story was last listed",
        (
            "ALTER TABLE stories ADD COLUMN listed_at double precision",
            "ALTER TABLE feeds ADD COLUMN full_parsed_at double precision",
        ),
    ),
    Migration(
        # Marking a row sent moved its entries in the indexes holding the status; rows are
        # looked up by status only to find the pending ones, and by broadcast only for a
        # broadcast's (see the SQLite step of the same name).
        "outbox: index pending rows and broadcast rows only",
        (
            "DROP INDEX outbox_pending",
            "CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending'",
            "DROP INDEX outbox_by_broadcast",
            """CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status)
                   WHERE broadcast_id IS NOT NULL""",
        ),
    ),
)
