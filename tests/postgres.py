"""PostgreSQL for tests: TEST_DATABASE_URL, and a schema of its own for each test."""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

# .ci/run sets it when a server answers on 127.0.0.1:5432; unset, PostgreSQL tests skip.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip() or None
SKIP_REASON = (
    "TEST_DATABASE_URL is unset: PostgreSQL tests skipped (set it to a postgresql:// URL of "
    "a server tests may create schemas in; .ci/run does when 127.0.0.1:5432 answers)"
)


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """Create an empty schema, yield a conninfo whose connections use it, drop it after."""
    assert TEST_DATABASE_URL is not None, SKIP_REASON
    name = f"test_{uuid.uuid4().hex[:16]}"
    async with await psycopg.AsyncConnection.connect(TEST_DATABASE_URL, autocommit=True) as db:
        await db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(TEST_DATABASE_URL, options=f"-c search_path={name}")
    finally:
        async with await psycopg.AsyncConnection.connect(TEST_DATABASE_URL, autocommit=True) as db:
            await db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
