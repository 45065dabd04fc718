"""Test-wide setup."""

import os
from collections.abc import AsyncIterator

import pytest

from tests.e2e import Feeds
from tests.feedserver import FeedServer

# Opt in to PTB's timedelta retry_after now: otherwise RetryAfter's constructor warns, and
# with warnings as errors the warning replaces the exception the bot must handle.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
async def feeds() -> AsyncIterator[Feeds]:
    """A local feed server and the items it serves."""
    with FeedServer() as server:
        yield Feeds(server)
