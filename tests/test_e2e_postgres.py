"""The real bot on PostgreSQL (DATABASE_URL): a story from a local feed reaches a subscriber."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.postgres import PostgresStorage
from tests.e2e import POLL_TIMEOUT, Feeds, story, watching_bot
from tests.postgres import SKIP_REASON, TEST_DATABASE_URL, fresh_schema

ANN = 2001


@pytest.fixture
async def url() -> AsyncIterator[str]:
    if TEST_DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    async with fresh_schema() as opened:
        yield opened


async def test_an_alert_travels_through_postgresql(tmp_path: Path, feeds: Feeds, url: str) -> None:
    feeds.publish("/world.xml", story(1, "Old news about Ukraine"), title="World Desk")
    async with watching_bot(tmp_path, feeds, "/world.xml", overrides={"DATABASE_URL": url}) as bot:
        await bot.ask(ANN, "/subscribe Ukraine")
        feeds.publish("/world.xml", story(2, "Ukraine and NATO meet"), title="World Desk")
        sent = await bot.fake.wait_for_sent(ANN, count=2, timeout=POLL_TIMEOUT)
        assert sent[1].plain_text.splitlines()[0] == "Ukraine and NATO meet"
        assert sent[1].plain_text.splitlines()[-1] == "Matched: Ukraine"
        await bot.restart()
        listed = await bot.ask(ANN, "/list")
        assert "Ukraine" in listed.plain_text
    assert not bot.database.exists(), "nothing was written to the SQLite file"
    storage = await PostgresStorage.open(url)
    try:
        assert [s.display for s in await storage.list_subscriptions(ANN)] == ["Ukraine"]
        assert (await storage.outbox_counts()).get("sent") == 1
        [feed] = await storage.list_feeds()
        assert feed.title == "World Desk"
    finally:
        await storage.close()
