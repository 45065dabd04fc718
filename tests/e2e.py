"""Run the real bot in-process against the Bot API fake, for end-to-end tests."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.app import run_bot
from bot.config import Settings, load_settings
from bot.storage.sqlite import SqliteStorage
from tests.botapi_fake import BotApiFake, SentMessage
from tests.feedserver import FeedServer, Item, rss

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
STARTUP_TIMEOUT = 10.0
POLL_TIMEOUT = 10.0


async def eventually(predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    """Wait until predicate() is true; fail the test after timeout seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


@dataclass
class BotHarness:
    """Starts and stops the bot on one database, so tests can restart it."""

    fake: BotApiFake
    database: Path
    overrides: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], float] | None = None
    _stop: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None

    def settings(self) -> Settings:
        """Return the settings the bot runs with."""
        environ = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.fake.url,
            "DATABASE_PATH": str(self.database),
            "ALLOW_PRIVATE_FEEDS": "true",
            **self.overrides,
        }
        return load_settings(environ)

    async def start(self) -> None:
        """Start the bot and wait until it long-polls for updates (or, with WEBHOOK_URL,
        until it registered its webhook, which it does once its listener serves)."""
        settings = self.settings()
        receiving = "setWebhook" if settings.webhook_url else "getUpdates"
        calls_before = self.fake.count_requests(receiving)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(run_bot(settings, self._stop, clock=self.clock))
        task = self._task

        def receiving_updates() -> bool:
            if task.done():
                task.result()  # raises the bot's start-up error
            return self.fake.count_requests(receiving) > calls_before

        await eventually(receiving_updates, STARTUP_TIMEOUT)

    async def stop(self) -> None:
        """Stop the bot gracefully and wait for it to finish."""
        if self._stop is None or self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, timeout=STARTUP_TIMEOUT)
        self._stop = self._task = None

    async def restart(self) -> None:
        """Stop and start again on the same database."""
        await self.stop()
        await self.start()

    async def settle(self, feeds: "Feeds", *paths: str) -> None:
        """Let every feed be polled twice more, so anything it would send has been queued,
        then wait until no outbox row is pending: all of it was sent (or refused)."""
        for path in paths:
            await feeds.wait_polled(path, times=2)
        await self.drained()

    async def drained(self) -> None:
        """Wait until no outbox row is pending: whatever was queued was sent (or refused)."""
        storage = await SqliteStorage.open(self.database)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + POLL_TIMEOUT
            while pending := (await storage.outbox_counts()).get("pending", 0):
                if loop.time() > deadline:
                    raise AssertionError(f"{pending} outbox rows still pending")
                await asyncio.sleep(0.02)
        finally:
            await storage.close()

    async def ask(
        self, user_id: int, text: str, *, first_name: str = "Ann", language_code: str | None = None
    ) -> SentMessage:
        """Send a message as the user (whose app speaks language_code, if given) and return
        the bot's next message to them."""
        already = len(self.fake.sent(user_id))
        self.fake.user_sends(user_id, text, first_name=first_name, language_code=language_code)
        sent = await self.fake.wait_for_sent(user_id, count=already + 1)
        return sent[already]


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    overrides: Mapping[str, str] | None = None,
    *,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[BotHarness]:
    """Start the Bot API fake and the bot (on clock, if given); stop both afterwards."""
    with BotApiFake(TOKEN) as fake:
        harness = BotHarness(fake, tmp_path / "newshound.sqlite3", dict(overrides or {}), clock)
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


def story(n: int, title: str, text: str = "", *, link: str | None = None) -> Item:
    """A fresh item (published now) with a stable guid."""
    return Item(
        title=title,
        link=link or f"https://news.example/story/{n}?utm_source=rss",
        guid=f"urn:test:{n}",
        description=text or f"<p>{title}. More details follow in the article.</p>",
        pub_date=datetime.now(UTC),
    )


@dataclass
class Feeds:
    """Feeds served locally, each a list of items the tests can grow."""

    server: FeedServer
    items: dict[str, list[Item]] = field(default_factory=dict)

    def publish(
        self, path: str, *new_items: Item, title: str = "Test News", language: str | None = None
    ) -> None:
        """Put new items at the top of the feed at path (which declares language, if given)."""
        self.items.setdefault(path, [])[:0] = list(new_items)
        self.server.set_feed(path, rss(self.items[path], title=title, language=language))

    async def wait_polled(self, path: str, times: int = 1) -> None:
        """Wait until the feed was fetched `times` more times than now."""
        target = self.server.hits(path) + times
        await eventually(lambda: self.server.hits(path) >= target, POLL_TIMEOUT)


@contextlib.asynccontextmanager
async def watching_bot(
    tmp_path: Path,
    feeds: Feeds,
    *paths: str,
    overrides: Mapping[str, str] | None = None,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[BotHarness]:
    """Run the bot on feeds at paths (polled every second), once each has been polled."""
    for path in paths:
        if path not in feeds.items:
            feeds.publish(path, story(0, f"Primer of {path}"))
    polled = {path: feeds.server.hits(path) + 1 for path in paths}
    urls = " ".join(feeds.server.url(path) for path in paths)
    settings = {"FEED_URLS": urls, "POLL_INTERVAL_SECONDS": "1", **(overrides or {})}
    async with running_bot(tmp_path, settings, clock=clock) as bot:
        await eventually(
            lambda: all(feeds.server.hits(path) >= hits for path, hits in polled.items()),
            POLL_TIMEOUT,
        )
        yield bot
