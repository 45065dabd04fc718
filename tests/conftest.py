"""Test-wide setup."""

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from tests.e2e import Feeds
from tests.feedserver import FeedServer
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL

# Opt in to PTB's timedelta retry_after now: otherwise RetryAfter's constructor warns, and
# with warnings as errors the warning replaces the exception the bot must handle.
os.environ.setdefault("PTB_TIMEDELTA", "1")

# Hypothesis's per-example deadline is a clock assertion: an example that loads a morphology
# dictionary, or runs while another process keeps a core busy, would fail it for no fault.
settings.register_profile("newshound", deadline=None)
settings.load_profile("newshound")


@pytest.fixture
async def feeds() -> AsyncIterator[Feeds]:
    """A local feed server and the items it serves."""
    with FeedServer() as server:
        yield Feeds(server)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly when the PostgreSQL tests did not run (not just "N skipped")."""
    if TEST_DATABASE_URL is None:
        terminalreporter.write_line(f"NOTE: {SKIP_REASON}", yellow=True, bold=True)
