"""Run the real bot as its own process (`python -m bot run`), kill it and restart it.

The Bot API fake and the feed server stay in the test process; the bot reaches them over
127.0.0.1 as it would reach Telegram and news sites. Each run writes stderr to its own file,
never to a pipe: the bot's parser processes inherit stderr and may outlive a killed bot.
Every bot gets its own process group, so a test can clean up whatever a killed bot left.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from tests.botapi_fake import BotApiFake, SentMessage
from tests.feedserver import FeedServer, Item, rss

# A token of Telegram's shape whose secret part is easy to spot in any output.
TOKEN = "7200000123:AAH-harness_SECRET-0123456789abcdefXYZ"
SECRET = TOKEN.split(":", 1)[1]
# Every setting the bot reads: the tests decide each of them, not the caller's environment.
SETTINGS = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "ADMIN_IDS",
    "DATABASE_PATH",
    "FEED_URLS",
    "POLL_INTERVAL_SECONDS",
    "MAX_SUBSCRIPTIONS_PER_USER",
    "FETCH_CONCURRENCY",
    "PARSE_WORKERS",
    "ALERT_BURST_LIMIT",
    "MAX_MESSAGES_PER_SECOND",
    "ALLOW_PRIVATE_FEEDS",
    "LOG_LEVEL",
)
READY_TIMEOUT = 30.0
EXIT_TIMEOUT = 20.0
COMMAND_TIMEOUT = 30.0
# After a SIGKILL, the fake may still be reading requests the dead bot had written: wait
# until no new one arrived for this long (at most SETTLE_LIMIT).
SETTLE_SECONDS = 0.1
SETTLE_LIMIT = 2.0
_SENDING_METHODS = ("sendMessage", "editMessageText", "answerCallbackQuery")
_POLL_STEP = 0.01


async def wait_for(
    predicate: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109
    what: str,
    *,
    alive: BotProcess | None = None,
    step: float = _POLL_STEP,
) -> None:
    """Wait until predicate() holds; fail (with the bot's stderr) after timeout seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if alive is not None and alive.exited:
            raise AssertionError(f"the bot exited while waiting for {what}:\n{alive.tail()}")
        if loop.time() > deadline:
            tail = f":\n{alive.tail()}" if alive is not None else ""
            raise AssertionError(f"{what}: not within {timeout} s{tail}")
        await asyncio.sleep(step)


async def wait_while_progressing(
    predicate: Callable[[], bool],
    progress: Callable[[], int],
    stall: float,
    what: str,
    *,
    alive: BotProcess,
    step: float = _POLL_STEP,
) -> None:
    """Wait until predicate() holds; fail once progress() has not grown for stall seconds.

    For work whose pace follows the machine's load (the bot delivering hundreds of messages
    under pacing): a slow machine gets more time as long as something still happens, and a
    bot that stopped making progress fails as soon as on an idle machine.
    """
    loop = asyncio.get_running_loop()
    seen, since = progress(), loop.time()
    while not predicate():
        if alive.exited:
            raise AssertionError(f"the bot exited while waiting for {what}:\n{alive.tail()}")
        now, current = loop.time(), progress()
        if current != seen:
            seen, since = current, now
        elif now - since > stall:
            raise AssertionError(
                f"{what}: no progress for {stall} s (progress count {seen}):\n{alive.tail()}"
            )
        await asyncio.sleep(step)


async def settle(fake: BotApiFake) -> None:
    """Wait until the fake has taken every request a dead bot had already written."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_LIMIT

    def seen() -> int:
        return sum(fake.count_requests(method) for method in _SENDING_METHODS)

    count = seen()
    await asyncio.sleep(SETTLE_SECONDS)
    while seen() != count and loop.time() < deadline:
        count = seen()
        await asyncio.sleep(SETTLE_SECONDS)


def _open_log(path: Path) -> IO[bytes]:
    return path.open("ab")


def clean_environ(overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Return this process's environment without any bot setting, plus overrides (None drops)."""
    environ = {name: value for name, value in os.environ.items() if name not in SETTINGS}
    for name, value in overrides.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


@dataclass
class Run:
    """One life of the bot process."""

    number: int
    stderr: Path
    pid: int
    returncode: int | None = None
    ended_by: str = ""


@dataclass
class CommandResult:
    """The outcome of a short `python -m bot ...` command."""

    returncode: int
    stdout: str
    stderr: str


async def run_command(args: Sequence[str], environ: Mapping[str, str], cwd: Path) -> CommandResult:
    """Run `python -m bot <args>` to completion, killing it after COMMAND_TIMEOUT seconds."""
    timeout = COMMAND_TIMEOUT
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        kill_group(process.pid)
        await process.wait()
        raise AssertionError(f"`python -m bot {' '.join(args)}` ran over {timeout} s") from None
    assert process.returncode is not None
    return CommandResult(process.returncode, stdout.decode(), stderr.decode())


def kill_group(pgid: int) -> None:
    """SIGKILL every process left in this process group (a bot and its parser processes)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_members(pgid: int) -> list[int]:
    """Return the ids of live (not zombie) processes in this process group (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class BotProcess:
    """`python -m bot run` as a subprocess against the fake, restartable on one database."""

    def __init__(
        self,
        fake: BotApiFake,
        workdir: Path,
        overrides: Mapping[str, str | None] | None = None,
    ) -> None:
        self.fake = fake
        self.workdir = workdir
        self.database = workdir / "newshound.sqlite3"
        self.overrides: dict[str, str | None] = dict(overrides or {})
        self.runs: list[Run] = []
        self._process: asyncio.subprocess.Process | None = None

    def environ(self) -> dict[str, str]:
        """Return the environment of the next run."""
        return clean_environ(
            {
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": self.fake.url,
                "DATABASE_PATH": str(self.database),
                "POLL_INTERVAL_SECONDS": "1",
                "ALLOW_PRIVATE_FEEDS": "true",
                "LOG_LEVEL": "DEBUG",
                "PTB_TIMEDELTA": "1",
                **self.overrides,
            }
        )

    @property
    def running(self) -> bool:
        """Whether a run was started and not yet reaped."""
        return self._process is not None

    @property
    def exited(self) -> bool:
        """Whether the current run's process has ended on its own."""
        return self._process is not None and self._process.returncode is not None

    async def start(self, *, wait_ready: bool = True) -> Run:
        """Start a run; by default wait until it long-polls the fake for updates."""
        if self._process is not None:
            raise RuntimeError("the bot is already running")
        polls_before = self.fake.count_requests("getUpdates")
        log = self.workdir / f"bot-run-{len(self.runs):02d}.stderr"
        stderr = _open_log(log)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.workdir,
                env=self.environ(),
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        finally:
            stderr.close()
        run = Run(len(self.runs), log, self._process.pid)
        self.runs.append(run)
        if wait_ready:
            await wait_for(
                lambda: self.fake.count_requests("getUpdates") > polls_before,
                READY_TIMEOUT,
                "the bot polling for updates",
                alive=self,
            )
        return run

    async def kill(self, *, clean_group: bool = True, settle_requests: bool = True) -> Run:
        """SIGKILL the bot process (only it, as a crash would), reap it, then its group.

        By default, then wait until the fake has read what the dead bot had written (with
        other bots still sending to the same fake, settle_requests=False: the caller waits).
        """
        process = self._require()
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        await asyncio.wait_for(process.wait(), EXIT_TIMEOUT)
        if settle_requests:
            await settle(self.fake)
        return self._finish("SIGKILL", clean_group=clean_group)

    async def stop(self) -> int:
        """SIGTERM the bot and return its exit status; fail if it does not stop in time."""
        process = self._require()
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        return await self.wait_exit(EXIT_TIMEOUT, ended_by="SIGTERM")

    async def wait_exit(self, timeout: float, *, ended_by: str = "exit") -> int:  # noqa: ASYNC109
        """Wait for the bot to exit by itself; kill it and fail after timeout seconds."""
        process = self._require()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            await self.kill()
            raise AssertionError(
                f"the bot did not exit within {timeout} s:\n{self.tail()}"
            ) from None
        run = self._finish(ended_by)
        assert run.returncode is not None
        return run.returncode

    async def close(self) -> None:
        """Kill whatever is still running (fixture teardown)."""
        if self._process is not None:
            await self.kill()

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("the bot is not running")
        return self._process

    def _finish(self, ended_by: str, *, clean_group: bool = True) -> Run:
        process = self._require()
        self._process = None
        if clean_group:
            # Parser processes of a killed bot must not linger into the next run.
            kill_group(process.pid)
        run = self.runs[-1]
        run.returncode = process.returncode
        run.ended_by = ended_by
        return run

    def stderr(self, run: int = -1) -> str:
        """Return what a run wrote to stderr."""
        return self.runs[run].stderr.read_text(encoding="utf-8", errors="replace")

    def all_stderr(self) -> str:
        """Return the stderr of every run, in order."""
        return "".join(self.stderr(number) for number in range(len(self.runs)))

    def tail(self, lines: int = 30) -> str:
        """Return the end of the latest run's stderr, for failure messages."""
        if not self.runs:
            return "(the bot never ran)"
        run = self.runs[-1]
        text = [line for line in self.stderr().splitlines() if not _chatty(line)][-lines:]
        header = f"--- run {run.number} (pid {run.pid}, {run.ended_by or 'running'}) stderr tail"
        return "\n".join([header, *text])


def _chatty(line: str) -> bool:
    """Whether a log line is one of the per-statement or per-socket DEBUG lines."""
    return " DEBUG aiosqlite: " in line or " DEBUG httpcore." in line


# Feeds


def news_item(number: int, title: str) -> Item:
    """A fresh item (published now) whose only matchable words are those of its title."""
    return Item(
        title=title,
        link=f"https://news.example/{number}",
        guid=f"urn:process-test:{number}",
        description=f"<p>Report number {number} from our correspondents.</p>",
        pub_date=datetime.now(UTC),
    )


@dataclass
class NewsSite:
    """One RSS feed on the local feed server, newest items first."""

    server: FeedServer
    path: str = "/news.xml"
    items: list[Item] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the feed's URL."""
        return self.server.url(self.path)

    def slow_down(self, seconds: float) -> None:
        """Answer every fetch of the feed this much later."""
        self.server.set_fault(self.path, delay=seconds)

    def publish(self, *items: Item) -> None:
        """Put items on top of the feed."""
        self.items[:0] = list(items)
        self.server.set_feed(self.path, rss(self.items, title="Process Test News"))

    @property
    def hits(self) -> int:
        """Return how many times the feed was fetched."""
        return self.server.hits(self.path)


# What the fake received, run by run


Pair = tuple[str, int]  # (message key, chat id)


@dataclass
class Ledger:
    """Attributes every message the fake received to the bot run that sent it."""

    fake: BotApiFake
    boundaries: list[int] = field(default_factory=list)

    def close_run(self) -> None:
        """Mark the end of a run (call once its process is reaped)."""
        self.boundaries.append(len(self.fake.sent()))

    def messages(self, start: int = 0) -> list[tuple[int, SentMessage]]:
        """Return (run number, message) for every message from index start on."""
        result = []
        for index, message in enumerate(self.fake.sent()):
            if index < start:
                continue
            run = sum(1 for boundary in self.boundaries if boundary <= index)
            result.append((run, message))
        return result


@dataclass
class Accounting:
    """Expected pairs against delivered ones, with duplicates blamed on the kill before them."""

    missing: set[Pair]
    unexpected: list[Pair]
    copies: Counter[Pair]
    duplicates_by_kill: Counter[int]
    duplicates_without_kill: int

    @property
    def duplicates(self) -> int:
        """Return every delivery beyond the first of its pair."""
        return sum(count - 1 for count in self.copies.values() if count > 1)


def account(delivered: Iterable[tuple[int, Pair]], expected: set[Pair]) -> Accounting:
    """Compare (run, pair) deliveries with the expected pairs.

    A pair delivered again in a later run is blamed on the kill that ended the run of its
    previous copy: that run sent it and died before recording it. A copy in the same run
    as the previous one has no kill to blame.
    """
    runs: dict[Pair, list[int]] = {}
    unexpected: list[Pair] = []
    for run, pair in delivered:
        if pair not in expected:
            unexpected.append(pair)
        runs.setdefault(pair, []).append(run)
    by_kill: Counter[int] = Counter()
    without_kill = 0
    for pair_runs in runs.values():
        for previous, current in itertools.pairwise(sorted(pair_runs)):
            if previous == current:
                without_kill += 1
            else:
                by_kill[previous] += 1
    return Accounting(
        missing=expected - set(runs),
        unexpected=unexpected,
        copies=Counter({pair: len(pair_runs) for pair, pair_runs in runs.items()}),
        duplicates_by_kill=by_kill,
        duplicates_without_kill=without_kill,
    )


# The database, read from outside the bot


def file_names(directory: Path) -> list[str]:
    """Return the sorted names of the files in directory."""
    return sorted(path.name for path in directory.iterdir())


def read_only(database: Path) -> sqlite3.Connection:
    """Open the database read-only: a killed bot's WAL stays for the next run to recover."""
    return sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True)


def integrity(database: Path, *, writable: bool = False) -> str:
    """Return PRAGMA integrity_check of the database ("ok" when healthy)."""
    connect = sqlite3.connect(database) if writable else read_only(database)
    with contextlib.closing(connect) as connection:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(row[0]) for row in rows)


def outbox_by_status(database: Path) -> dict[str, set[Pair]]:
    """Return (story title, user) alert pairs of the outbox grouped by row status."""
    with contextlib.closing(read_only(database)) as connection:
        rows = connection.execute(
            """SELECT o.status, s.title, o.chat_id FROM outbox o
               JOIN stories s ON s.id = o.story_id WHERE o.kind != 'broadcast'"""
        ).fetchall()
    grouped: dict[str, set[Pair]] = {}
    for status, title, user_id in rows:
        grouped.setdefault(str(status), set()).add((str(title), int(user_id)))
    return grouped


def unclaimed_pairs(database: Path) -> set[Pair]:
    """Return (story title, chat) pairs matched but not claimed yet (fan-out on read): each
    stored match after the watermark, for each active subscriber of one of its queries whose
    cursor and subscription come before it."""
    with contextlib.closing(read_only(database)) as connection:
        rows = connection.execute(
            """SELECT DISTINCT s.title, c.id FROM story_matches m
               JOIN stories s ON s.id = m.story_id
               JOIN subscriptions sub ON sub.query IN (SELECT value FROM json_each(m.queries))
               JOIN chats c ON c.id = sub.chat_id
               WHERE c.status = 'active' AND m.id > c.match_cursor AND m.id > sub.start_match
                 AND m.id > (SELECT watermark FROM delivery_state)"""
        ).fetchall()
    return {(str(title), int(chat_id)) for title, chat_id in rows}


def story_titles(database: Path) -> set[str]:
    """Return the titles of every stored story."""
    with contextlib.closing(read_only(database)) as connection:
        rows = connection.execute("SELECT title FROM stories").fetchall()
    return {str(row[0]) for row in rows}


def broadcast_rows_by_status(database: Path) -> Counter[str]:
    """Return broadcast outbox rows counted by status."""
    with contextlib.closing(read_only(database)) as connection:
        rows = connection.execute(
            "SELECT status, count(*) FROM outbox WHERE kind = 'broadcast' GROUP BY status"
        ).fetchall()
    return Counter({str(status): int(count) for status, count in rows})


def pending_broadcast_users(database: Path) -> set[int]:
    """Return the users whose broadcast row is still pending."""
    with contextlib.closing(read_only(database)) as connection:
        rows = connection.execute(
            "SELECT chat_id FROM outbox WHERE kind = 'broadcast' AND status = 'pending'"
        ).fetchall()
    return {int(row[0]) for row in rows}


def count_rows(database: Path, table: str) -> int:
    """Return the number of rows of a table."""
    with contextlib.closing(read_only(database)) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0])


def feed_primed(database: Path) -> bool:
    """Whether every feed has had its first poll (its entries recorded, not alerted)."""
    if not database.exists():
        return False
    with contextlib.closing(read_only(database)) as connection:
        try:
            row = connection.execute("SELECT count(*), sum(primed) FROM feeds").fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return False
    return bool(row[0]) and row[0] == row[1]


def broadcast_status_message(database: Path) -> int | None:
    """Return the message id recorded to show the latest broadcast's progress, if any."""
    with contextlib.closing(read_only(database)) as connection:
        row = connection.execute(
            "SELECT status_message_id FROM broadcasts ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return None if row is None or row[0] is None else int(row[0])
