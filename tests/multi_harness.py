"""Several real bot processes on one PostgreSQL database, and what they did together.

Each instance is a `process_harness.BotProcess` that reaches the Bot API fake through its own
URL prefix (`BotApiFake.client_url`), so every request and message the fake records names the
instance that made it. The database is read from outside the bots with psycopg, the way
`process_harness` reads SQLite. Everything here is measured after the fact from the logs the
fake and the feed server keep (request arrival and answer times, fetch times).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.botapi_fake import BotApiFake, RequestRecord, SentMessage
from tests.process_harness import READY_TIMEOUT, BotProcess, Pair

_STEP = 0.02
# After a SIGKILL, requests the dead bot had written may still be read by the fake: wait until
# the dead client's log stayed the same this long (at most SETTLE_LIMIT).
SETTLE_SECONDS = 0.2
SETTLE_LIMIT = 3.0
SENDS = ("sendMessage", "editMessageText")


@dataclass
class Instance:
    """One `newshound run` process, named as the fake knows it."""

    name: str
    process: BotProcess
    killed_at: float | None = None

    @property
    def alive(self) -> bool:
        return self.process.running and self.killed_at is None


class Instances:
    """N bot processes with the same token and DATABASE_URL, each its own fake client."""

    def __init__(
        self, fake: BotApiFake, workdir: Path, count: int, overrides: dict[str, str]
    ) -> None:
        self.fake = fake
        self.members: list[Instance] = []
        for number in range(count):
            name = f"i{number}"
            directory = workdir / name
            directory.mkdir()
            settings: dict[str, str | None] = {
                **overrides,
                "TELEGRAM_API_URL": fake.client_url(name),
            }
            self.members.append(Instance(name, BotProcess(fake, directory, settings)))

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.members)

    def named(self, name: str) -> Instance:
        return next(member for member in self.members if member.name == name)

    async def start(self) -> None:
        """Start every instance at once; wait until each has reached Telegram (getMe)."""
        for member in self.members:
            await member.process.start(wait_ready=False)
        await self.wait(
            lambda: all(self.calls(m.name, "getMe") for m in self.members),
            READY_TIMEOUT,
            "every instance calling getMe",
        )

    def calls(self, client: str, method: str) -> list[RequestRecord]:
        return [r for r in self.fake.request_log(method) if r.client == client]

    def check_alive(self, what: str) -> None:
        for member in self.members:
            if member.killed_at is None and member.process.exited:
                raise AssertionError(
                    f"instance {member.name} exited while waiting for {what}:\n"
                    f"{member.process.tail()}"
                )

    async def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        """Wait until predicate() holds; fail if an instance dies or after timeout seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            self.check_alive(what)
            if loop.time() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s\n{self.tails()}")
            await asyncio.sleep(_STEP)

    async def wait_while_progressing(
        self,
        predicate: Callable[[], bool],
        progress: Callable[[], int],
        stall: float,
        what: str,
    ) -> None:
        """Wait until predicate() holds; fail once progress() stayed put for stall seconds."""
        loop = asyncio.get_running_loop()
        seen, since = progress(), loop.time()
        while not predicate():
            self.check_alive(what)
            now, current = loop.time(), progress()
            if current != seen:
                seen, since = current, now
            elif now - since > stall:
                raise AssertionError(
                    f"{what}: no progress for {stall} s (count {seen})\n{self.tails()}"
                )
            await asyncio.sleep(_STEP)

    def poller(self) -> str | None:
        """Return the instance that made the latest getUpdates call, if any."""
        log = self.fake.request_log("getUpdates")
        return log[-1].client if log else None

    def sends_pending(self, client: str) -> int:
        """Return how many of client's sends the fake holds unanswered right now."""
        return sum(1 for r in self.calls(client, "sendMessage") if r.answered is None)

    async def kill(self, member: Instance) -> float:
        """SIGKILL one instance (only its bot process, as a crash would); return the instant.

        Waits until the fake has read and answered every send the dead client had written, so
        the request log of its sends is final; the other instances keep running meanwhile.
        """
        killed_at = asyncio.get_running_loop().time()
        member.killed_at = killed_at
        await member.process.kill(settle_requests=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT

        def sends() -> list[RequestRecord]:
            return [r for m in SENDS for r in self.calls(member.name, m)]

        count = len(sends())
        while loop.time() < deadline:
            await asyncio.sleep(SETTLE_SECONDS)
            if len(sends()) == count and all(r.answered for r in sends()):
                break
            count = len(sends())
        return killed_at

    async def stop(self) -> dict[str, int]:
        """SIGTERM every live instance; return their exit statuses."""
        return {m.name: await m.process.stop() for m in self.members if m.alive}

    async def close(self) -> None:
        for member in self.members:
            await member.process.close()

    def tails(self) -> str:
        return "\n".join(m.process.tail(15) for m in self.members)


# What the fake received


_TITLE = re.compile(r"(?:Ukraine and NATO|Ukraine|NATO|Harbour) dispatch \d+")


def pairs_of(message: SentMessage) -> list[Pair]:
    """The (story title, chat) pairs a message carries: one for an alert, several for a digest."""
    return [(title, message.chat_id) for title in _TITLE.findall(message.plain_text)]


@dataclass
class Delivery:
    """Every alert or digest message, who sent it, and the accounting against expected pairs."""

    messages: list[SentMessage]
    expected: set[Pair]
    victim: str

    @property
    def delivered(self) -> Counter[Pair]:
        return Counter(pair for message in self.messages for pair in pairs_of(message))

    @property
    def missing(self) -> set[Pair]:
        return self.expected - set(self.delivered)

    @property
    def unexpected(self) -> set[Pair]:
        return set(self.delivered) - self.expected

    def duplicate_messages(self) -> list[SentMessage]:
        """Messages every pair of which an earlier message had delivered already."""
        seen: set[Pair] = set()
        repeats = []
        for message in self.messages:
            pairs = pairs_of(message)
            if pairs and all(pair in seen for pair in pairs):
                repeats.append(message)
            seen.update(pairs)
        return repeats

    def repeated_pairs(self) -> set[Pair]:
        return {pair for pair, count in self.delivered.items() if count > 1}

    def sent_by(self, client: str) -> set[Pair]:
        return {pair for m in self.messages if m.client == client for pair in pairs_of(m)}

    def by_instance(self) -> Counter[str]:
        return Counter(str(m.client) for m in self.messages)


def alert_messages(fake: BotApiFake) -> list[SentMessage]:
    """Every message the bot sent that carries a story (alerts and digests), in sending order."""
    return [message for message in fake.sent() if pairs_of(message)]


def max_in_window(times: Sequence[float], window: float) -> int:
    """Return the most instants of times (sorted) that fit in any half-open window."""
    best = 0
    for index, start in enumerate(times):
        best = max(best, bisect.bisect_left(times, start + window) - index)
    return best


def min_gap(times: Sequence[float]) -> float | None:
    """Return the shortest time between consecutive instants (None with fewer than two)."""
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    return min(gaps) if gaps else None


def overlapping_pollers(
    log: Iterable[RequestRecord], ends: dict[str, float], now: float
) -> list[tuple[RequestRecord, RequestRecord]]:
    """Pairs of getUpdates calls from different clients that were open at the same time.

    A call's end is its answer, or for a killed client the kill (ends): the fake may still
    hold a dead client's long poll, but nobody is listening any more.
    """

    def end(record: RequestRecord) -> float:
        answered = record.answered if record.answered is not None else now
        return min(answered, ends.get(str(record.client), answered))

    records = sorted(log, key=lambda r: r.arrived)
    overlaps = []
    for index, first in enumerate(records):
        for second in records[index + 1 :]:
            if second.arrived >= end(first):
                break
            if second.client != first.client and second.arrived < end(first):
                overlaps.append((first, second))
    return overlaps


def conflicts_between_clients(log: Sequence[RequestRecord], dead: str) -> list[RequestRecord]:
    """getUpdates calls of live clients answered 409 because another client polled meanwhile.

    A client's own later call also ends its pending one with 409 (PTB's last getUpdates at
    shutdown, after cancelling the long poll nobody reads any more): that is no conflict.
    """
    return [
        record
        for record in log
        if record.status == 409
        and record.client != dead
        and any(
            other.client != record.client
            and record.arrived <= other.arrived <= (record.answered or other.arrived)
            for other in log
        )
    ]


# The database, read from outside the bots


def outbox_by_status(url: str) -> dict[str, set[Pair]]:
    """Return (story title, chat) pairs of the outbox grouped by row status."""
    with psycopg.connect(url) as db:
        rows = db.execute(
            """SELECT o.status, s.title, o.chat_id FROM outbox o
               JOIN stories s ON s.id = o.story_id WHERE o.kind != 'broadcast'"""
        ).fetchall()
    grouped: dict[str, set[Pair]] = {}
    for status, title, chat_id in rows:
        grouped.setdefault(str(status), set()).add((str(title), int(chat_id)))
    return grouped


def feeds_primed(url: str, count: int) -> bool:
    """Whether count feeds exist and each has had its first poll."""
    with contextlib.suppress(psycopg.errors.UndefinedTable), psycopg.connect(url) as db:
        row = db.execute("SELECT count(*), count(*) FILTER (WHERE primed) FROM feeds").fetchone()
        return row is not None and row[0] == row[1] == count
    return False


def story_titles(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        return {str(row[0]) for row in db.execute("SELECT title FROM stories").fetchall()}
