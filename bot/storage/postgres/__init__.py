"""The PostgreSQL backend of bot.storage, chosen by DATABASE_URL=postgresql://...

connection.py holds the psycopg connection pool and the one-transaction-per-call helper
(psycopg's errors become StorageError/StorageUnavailable there); schema.py the schema as
forward-only migrations, applied by migrations.py; one module per entity holds its queries
as a mixin, as in bot/storage/sqlite/; store.py composes them into PostgresStorage;
copy.py copies a SQLite database into it (`newshound migrate-db`).
"""

from bot.storage.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from bot.storage.postgres.store import PostgresStorage

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStorage"]
