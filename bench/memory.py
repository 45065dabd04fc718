"""Scenario 6: peak RSS of the bot process at scale.

The bot runs as production runs it (`python -m bot run`, a separate process) on a database
holding memory_users users x 5 subscriptions, memory_feeds feeds and memory_stories stored
stories. It builds its index, polls every feed once (each ~100 KB, 50 entries; one feed in
25 has a new entry that matches, so alerts are queued and delivery starts), and then its
peak resident set (VmHWM) is read from /proc. The parser workers are separate processes and
reported apart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import matching
from bench.common import Figure, Run, at_most
from bench.harness import (
    TOKEN,
    RemoteBotApi,
    RemoteFeeds,
    children_of,
    count_rows,
    create_database,
    feed_body,
    feed_items,
    feed_path,
    populate,
    rss_kib,
)

SCENARIO = "6 memory"
FRESH_EVERY = 25
SETTLE_SECONDS = 3.0
START_TIMEOUT = 300.0
STOP_TIMEOUT = 30.0


async def run(run: Run) -> list[Figure]:
    """Start the bot process on a big database, let it poll every feed, read its peak RSS."""
    sizes = run.sizes
    data = matching.workload(run)
    directory = run.scratch("memory")
    database = directory / "newshound.sqlite3"
    users = min(sizes.memory_users, sizes.users)
    subscriptions = [s for s in data.subscriptions if s[0] <= users]
    now = datetime.now(UTC)
    bodies = {
        feed_path(feed): feed_body(
            feed,
            feed_items(
                feed,
                data.stories,
                sizes.items_per_feed,
                fresh=1 if feed % FRESH_EVERY == 0 else 0,
                generation="mem",
                now=now,
                words=sizes.item_words,
            ),
        )
        for feed in range(sizes.memory_feeds)
    }
    with RemoteFeeds() as feeds, RemoteBotApi() as api:
        await feeds.acall("set_feeds", bodies)
        urls = [feeds.url(path) for path in bodies]
        await create_database(database)
        await asyncio.to_thread(
            populate,
            database,
            user_ids=range(1, users + 1),
            subscriptions=subscriptions,
            feed_urls=urls,
            primed=True,
            stories_per_feed=sizes.memory_stories // sizes.memory_feeds,
            stories=data.stories,
        )
        await api.acall(
            "enforce_limits", global_per_second=30, per_chat_per_second=1.0, per_chat_burst=3
        )
        environ = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.url,
            "DATABASE_PATH": str(database),
            "ALLOW_PRIVATE_FEEDS": "true",
            "LOG_LEVEL": "WARNING",
            "PTB_TIMEDELTA": "1",
        }
        started = time.monotonic()
        log_path = directory / "bot.log"
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=environ,
                cwd=directory,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            polled_at = await _wait_polled(database, sizes.memory_feeds, process, started, log_path)
            await asyncio.sleep(SETTLE_SECONDS)
            peak = rss_kib(process.pid).get("VmHWM", 0)
            workers = sum(rss_kib(child).get("VmHWM", 0) for child in children_of(process.pid))
            queued = count_rows(database, "SELECT count(*) FROM outbox")
            stored = count_rows(database, "SELECT count(*) FROM stories")
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if process.returncode != 0:
            raise RuntimeError(f"the bot exited with {process.returncode}: {_tail(log_path)}")
    return [
        Figure(
            SCENARIO,
            "bot process peak RSS",
            peak / 1024,
            "MB",
            at_most(300, "MB"),
            f"{users:,} users x {sizes.subscriptions_per_user}, {sizes.memory_feeds} feeds "
            f"polled, {stored:,} stories, {queued:,} outbox rows; 1 run",
        ),
        Figure(
            SCENARIO,
            "parser workers' peak RSS (sum)",
            workers / 1024,
            "MB",
            note="forkserver and worker processes",
        ),
        Figure(
            SCENARIO,
            "start to every feed polled",
            polled_at,
            "s",
            note="process start, index build, one full cycle",
        ),
    ]


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


async def _wait_polled(
    database: Path, feeds: int, process: asyncio.subprocess.Process, started: float, log: Path
) -> float:
    """Wait until every feed was polled once; return the seconds since the process started."""
    sql = "SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL"
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited early with {process.returncode}: {_tail(log)}")
        if time.monotonic() - started > START_TIMEOUT:
            raise RuntimeError("the bot did not poll every feed in time")
        try:
            done = await asyncio.to_thread(count_rows, database, sql)
        except Exception:  # the database may be busy migrating at start
            done = 0
        if done >= feeds:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
