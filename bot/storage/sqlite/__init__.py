"""The SQLite backend of bot.storage: the only SQL in Newshound.

connection.py holds the writer and reader connections and their transactions (faults.py:
which SQLite errors mean "unavailable, pause and retry" and which are bugs);
migrations.py the schema; one module per entity (chats, subscriptions, feeds, stories,
outbox, broadcasts, stats, retention; outlets: the near-identical titles index and alert
edits) holds its queries as a mixin; store.py composes them
into SqliteStorage; files.py creates and backs up the database file.
"""

from bot.storage.sqlite.files import backup_database, prepare_database_file
from bot.storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from bot.storage.sqlite.store import SqliteStorage

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SqliteStorage",
    "backup_database",
    "prepare_database_file",
]
