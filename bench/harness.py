"""Real components wired for benchmarks, and the servers they talk to in other processes.

The feed server and the Bot API fake (the test suite's own) run in child processes, as the
real feeds and Telegram would be on other machines: their request handling must not compete
with the bot for its interpreter lock. Time stamps taken on either side use
time.monotonic(), which is one clock for every process of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Self

from telegram.ext import ExtBot

from bench.common import percentile
from bench.workload import Story, Subscription
from bot.app import build_application
from bot.config import Settings, load_settings
from bot.storage.sqlite import SqliteStorage
from tests import botapi_fake
from tests.botapi_fake import JSON, BotApiFake
from tests.feedserver import FeedServer, Item, rss

TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
HEARTBEAT_SECONDS = 0.010
SEND_METHOD = "/sendmessage"
# Entries older than the bot's alert age limit (24 h) are stored but never alerted.
OLD_ENTRY_AGE = timedelta(days=30)
FRESH_ENTRY_AGE = timedelta(minutes=5)


def quiet_logging() -> None:
    """Keep the bot's per-feed and per-message log lines out of the benchmark's output."""
    logging.basicConfig(level=logging.WARNING, force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # With max_retries=0 the limiter logs every 429 as an exception (as bot/cli.py silences).
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)


# --- servers in child processes -----------------------------------------------------------


class BenchFeedServer(FeedServer):
    """The test suite's FeedServer, with calls that set or count many feeds at once."""

    def __init__(self) -> None:
        super().__init__()

    def set_feeds(self, bodies: Mapping[str, bytes], *, validators: bool = True) -> None:
        """Serve each body at its path (validators computed from the body, or none: the
        server then ignores conditional GET and answers every request in full)."""
        for path, body in bodies.items():
            if validators:
                self.set_feed(path, body)
            else:
                self.set_feed(path, body, etag=None, last_modified=None)

    def total_hits(self, paths: Sequence[str]) -> int:
        """Return the requests received for these paths."""
        return sum(self.hits(path) for path in paths)


@dataclass(frozen=True)
class Send:
    """A sendMessage the fake accepted: when (monotonic), to whom, and the start of the text."""

    at: float
    chat_id: int
    text: str


class BenchBotApi(BotApiFake):
    """The test suite's Bot API fake, noting when each accepted message arrived."""

    def __init__(self, token: str) -> None:
        # Telegram keeps connections alive (as PTB's httpx client expects); the fake closes
        # each one by default, so at hundreds of messages a second it would measure TCP
        # handshakes. It always sends Content-Length, so keep-alive is safe.
        botapi_fake._Handler.protocol_version = "HTTP/1.1"
        super().__init__(token)
        self._log_lock = threading.Lock()
        self._sends: list[Send] = []

    def handle_http(
        self, path: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, JSON]:
        """Answer as the fake does; note accepted sendMessage calls with their arrival time."""
        arrived = time.monotonic()
        status, payload = super().handle_http(path, query, content_type, body)
        if status == 200 and path.lower().endswith(SEND_METHOD):
            result = payload.get("result") or {}
            chat = result.get("chat") or {}
            with self._log_lock:
                self._sends.append(Send(arrived, int(chat.get("id", 0)), result.get("text", "")))
        return status, payload

    def api_url(self) -> str:
        """Return the fake's base address (what TELEGRAM_API_URL is set to)."""
        return self.url

    def sends(self, start: int = 0) -> list[Send]:
        """Return accepted messages from position start on."""
        with self._log_lock:
            return self._sends[start:]

    def send_count(self) -> int:
        """Return how many messages were accepted."""
        with self._log_lock:
            return len(self._sends)

    def timed_user_sends(self, user_id: int, text: str) -> tuple[int, float]:
        """Queue a message from a user; return the messages sent so far and the time."""
        before = self.send_count()
        self.user_sends(user_id, text, first_name="Bench")
        return before, time.monotonic()

    def flood(self, user_id: int, text: str, times: int) -> None:
        """Queue the same message from a user `times` times, at once."""
        for _ in range(times):
            self.user_sends(user_id, text, first_name="Flood")

    def wait_for_text(self, chat_id: int, needle: str, start: int, timeout: float) -> float | None:
        """Wait for a message to chat_id containing needle, after position start; its time."""
        deadline = time.monotonic() + timeout
        position = start
        while True:
            fresh = self.sends(position)
            for send in fresh:
                if send.chat_id == chat_id and needle in send.text:
                    return send.at
            position += len(fresh)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.002)

    def counters(self) -> dict[str, int]:
        """Return 429s answered and errors answered so far."""
        return {"rate_limited": self.rate_limited_count, "errors": len(self.errors)}


def _serve(connection: Connection, factory: Callable[..., Any], args: tuple[Any, ...]) -> None:
    target = factory(*args)
    target.start()
    try:
        while True:
            message = connection.recv()
            if message is None:
                break
            name, call_args, call_kwargs = message
            try:
                value = None if name == "ping" else getattr(target, name)(*call_args, **call_kwargs)
                connection.send((True, value))
            except Exception as error:
                connection.send((False, repr(error)))
    finally:
        target.stop()


class Remote:
    """An object living in a child process; call its methods by name."""

    def __init__(self, factory: Callable[..., Any], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, factory, args), daemon=True, name=factory.__name__
        )
        self._process.start()
        child.close()
        self._lock = threading.Lock()
        self.call("ping")

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a method of the remote object and return its (pickled) result."""
        with self._lock:
            self._connection.send((name, args, kwargs))
            ok, value = self._connection.recv()
        if not ok:
            raise RuntimeError(f"remote {name} failed: {value}")
        return value

    async def acall(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a method without blocking the event loop."""
        return await asyncio.to_thread(self.call, name, *args, **kwargs)

    @property
    def pid(self) -> int | None:
        """Return the child process id."""
        return self._process.pid

    def close(self) -> None:
        """Stop the object and its process."""
        with contextlib.suppress(OSError, EOFError):
            self._connection.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class RemoteFeeds(Remote):
    """A BenchFeedServer in a child process."""

    def __init__(self) -> None:
        super().__init__(BenchFeedServer)
        self.base = str(self.call("url", "/"))

    def url(self, path: str) -> str:
        """Return the absolute URL of path."""
        return self.base + path.lstrip("/")

    def set_feeds(self, bodies: Mapping[str, bytes], *, validators: bool = True) -> None:
        """Serve these bodies."""
        self.call("set_feeds", dict(bodies), validators=validators)


class RemoteBotApi(Remote):
    """A BenchBotApi in a child process."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__(BenchBotApi, token)
        self.url = str(self.call("api_url"))

    def sends(self, start: int = 0) -> list[Send]:
        """Return accepted messages from position start on."""
        sends: list[Send] = self.call("sends", start)
        return sends

    def send_count(self) -> int:
        """Return how many messages were accepted."""
        return int(self.call("send_count"))

    def counters(self) -> dict[str, int]:
        """Return 429s and errors answered so far."""
        counters: dict[str, int] = self.call("counters")
        return counters


# --- feeds --------------------------------------------------------------------------------


def feed_path(feed: int) -> str:
    """Return the server path of feed number feed."""
    return f"/feed/{feed}.xml"


def feed_items(
    feed: int,
    stories: Sequence[Story],
    count: int,
    *,
    fresh: int,
    generation: str,
    now: datetime,
    words: int = 220,
    first: int = 0,
) -> list[Item]:
    """Return count items (newest first) for a feed; the first `fresh` are recent."""
    items: list[Item] = []
    for position in range(count):
        number = first + position
        story = stories[(feed * count + number) % len(stories)]
        text = story.text.split()[:words]
        third = max(1, len(text) // 3)
        paragraphs = [" ".join(text[i : i + third]) for i in range(0, len(text), third)]
        age = FRESH_ENTRY_AGE if position < fresh else OLD_ENTRY_AGE
        ident = f"{generation}-{feed}-{number}"
        items.append(
            Item(
                title=f"{story.title} ({ident})",
                link=f"https://news{feed}.example/{generation}/{number}",
                guid=f"urn:bench:{ident}",
                description="".join(f"<p>{paragraph}</p>" for paragraph in paragraphs),
                pub_date=now - age - timedelta(seconds=position),
            )
        )
    return items


def feed_body(feed: int, items: list[Item]) -> bytes:
    """Return the RSS document of a feed."""
    return rss(items, title=f"Bench feed {feed}", link=f"https://news{feed}.example/").encode()


def primer_body(feed: int) -> bytes:
    """Return a one-item feed, to mark a feed as known (primed) with one cheap poll."""
    old = datetime.now(UTC) - OLD_ENTRY_AGE
    item = Item(
        title=f"Primer {feed}",
        link=f"https://news{feed}.example/primer",
        guid=f"urn:bench:primer-{feed}",
        description="<p>Primer.</p>",
        pub_date=old,
    )
    return feed_body(feed, [item])


# --- database -----------------------------------------------------------------------------


async def create_database(path: Path) -> None:
    """Create and migrate the database with the production code, then close it."""
    storage = await SqliteStorage.open(path)
    await storage.close()


def populate(
    path: Path,
    *,
    user_ids: Iterable[int] = (),
    subscriptions: Iterable[Subscription] = (),
    feed_urls: Sequence[str] = (),
    primed: bool = True,
    stories_per_feed: int = 0,
    stories: Sequence[Story] = (),
) -> None:
    """Bulk-load rows into a migrated database (setup only: far faster than one await a row).

    The schema is the production one; the rows are what the bot itself would have written.
    """
    now = time.time()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("BEGIN")
        connection.executemany(
            """INSERT INTO chats (id, type, username, title, status, created_at, updated_at)
               VALUES (?, 'private', NULL, 'Bench', 'active', ?, ?) ON CONFLICT DO NOTHING""",
            ((user_id, now, now) for user_id in user_ids),
        )
        connection.executemany(
            """INSERT INTO subscriptions (chat_id, query, display, created_at)
               VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            ((user_id, query, display, now) for user_id, query, display in subscriptions),
        )
        connection.executemany(
            "INSERT INTO feeds (url, title, trusted, primed, added_at) VALUES (?, ?, 1, ?, ?)",
            ((url, f"Bench feed {n}", int(primed), now) for n, url in enumerate(feed_urls)),
        )
        if stories_per_feed and stories:
            feed_ids = [row[0] for row in connection.execute("SELECT id FROM feeds ORDER BY id")]
            connection.executemany(
                """INSERT INTO stories (feed_id, key, link, canonical_link, title,
                       normalised_title, summary, published_at, seen_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                _story_rows(feed_ids, stories_per_feed, stories, now),
            )
        connection.execute("COMMIT")
    finally:
        connection.close()


def _story_rows(
    feed_ids: Sequence[int], per_feed: int, stories: Sequence[Story], now: float
) -> Iterable[tuple[Any, ...]]:
    number = 0
    for feed_id in feed_ids:
        for _ in range(per_feed):
            story = stories[number % len(stories)]
            link = f"https://stored{feed_id}.example/{number}"
            title = f"{story.title} (stored {number})"
            summary = " ".join(story.text.split()[:60])
            yield (
                feed_id,
                link,
                link,
                link,
                title,
                " ".join(story.words[:12]) + f" {number}",
                summary,
                now - 86_400,
                now - 86_400,
            )
            number += 1


def count_rows(path: Path, sql: str) -> int:
    """Run a count query on its own read-only connection (WAL lets it read beside the bot)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute(sql).fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else 0


# --- the bot ------------------------------------------------------------------------------


def bench_settings(api_url: str, database: Path, **overrides: str) -> Settings:
    """Return the bot's settings as production loads them, pointed at the local fakes."""
    environ = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api_url,
        "DATABASE_PATH": str(database),
        "ALLOW_PRIVATE_FEEDS": "true",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }
    return load_settings(environ)


@contextlib.asynccontextmanager
async def telegram_bot(settings: Settings) -> AsyncIterator[ExtBot[Any]]:
    """Yield the bot the production Application builds (rate limiter, HTML defaults)."""
    application = build_application(settings)
    async with application:
        yield application.bot


class LoopLag:
    """A heartbeat task: how late a 10 ms sleep wakes up, while the block runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self.samples.append(max(0.0, loop.time() - started - HEARTBEAT_SECONDS))

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._beat(), name="heartbeat")
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def p99(self) -> float:
        """Return the 99th percentile lag in seconds."""
        return percentile(self.samples, 0.99)


def rss_kib(pid: int | str = "self") -> dict[str, int]:
    """Return VmRSS and VmHWM (peak) of a process, in KiB."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def children_of(pid: int) -> list[int]:
    """Return the ids of pid's descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # Fields 14 and 15 of stat (utime, stime), counted after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_count() -> int:
    """Return how many CPUs this process may use."""
    return len(os.sched_getaffinity(0))
