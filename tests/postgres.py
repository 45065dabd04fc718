"""PostgreSQL for tests: TEST_DATABASE_URL, and a schema of its own for each test."""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import psycopg
from psycopg import sql

# .ci/run sets it when a server answers on 127.0.0.1:5432; unset, PostgreSQL tests skip.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip() or None
SKIP_REASON = (
    "TEST_DATABASE_URL is unset: PostgreSQL tests skipped (set it to a postgresql:// URL of "
    "a server tests may create schemas in; .ci/run does when 127.0.0.1:5432 answers)"
)


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """Create an empty schema, yield a postgresql:// URL whose connections use it (libpq's
    options parameter sets their search_path), drop the schema after."""
    assert TEST_DATABASE_URL is not None, SKIP_REASON
    name = f"test_{uuid.uuid4().hex[:16]}"
    async with await psycopg.AsyncConnection.connect(TEST_DATABASE_URL, autocommit=True) as db:
        await db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        joiner = "&" if "?" in TEST_DATABASE_URL else "?"
        # application_name: the test's own sessions can be told from others' (pg_stat_activity).
        options = quote(f"-c search_path={name}")
        yield f"{TEST_DATABASE_URL}{joiner}options={options}&application_name={name}"
    finally:
        async with await psycopg.AsyncConnection.connect(TEST_DATABASE_URL, autocommit=True) as db:
            await db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
