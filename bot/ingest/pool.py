"""Run feed parsing in worker processes, so a long or crashing parse never stalls the bot."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, Protocol, TypeVar

from bot.ingest.parse import ParsedFeed, failed_parse, parse_feed

log = logging.getLogger(__name__)

DEFAULT_PARSER_WORKERS = 2
# Modules the forkserver imports before forking workers (what every worker needs).
FORKSERVER_PRELOAD = ("bot.ingest.prepare", "bot.text.preload")
# How much lower a parser worker's CPU priority is than the bot's (added to its nice value).
# Parsing is throughput work; the bot's event loop answers people and must get a core as
# soon as it wakes. At equal priority, on a machine whose cores the workers fill (a cold
# cycle), the loop waited its turn behind them: the bench's loop lag was almost all run-queue
# wait (/proc schedstat), not the loop's own work. The workers still take every idle cycle.
PARSER_NICENESS = 10

_P = ParamSpec("_P")
_T = TypeVar("_T")


class ParserDiedError(Exception):
    """A worker process died mid-parse (the pool has been replaced)."""


class ParseFunction(Protocol):
    """The shape of parse_feed, so a pool can run another top-level parser (tests do)."""

    def __call__(
        self, body: bytes, headers: Mapping[str, str], *, url: str | None = None
    ) -> ParsedFeed: ...


def start_worker() -> None:
    """Set a parser process up: below the bot's CPU priority, gone when the bot is."""
    lower_priority()
    exit_with_parent()


def lower_priority() -> None:
    """Give way to the bot's process on a busy CPU (PARSER_NICENESS)."""
    try:
        os.nice(PARSER_NICENESS)
    except OSError as error:  # not where nice is refused; parsing goes on at equal priority
        log.warning("Cannot lower the parser worker's priority: %s", error)


def exit_with_parent() -> None:
    """Make a parser process exit as soon as the bot process is gone (it may be SIGKILLed).

    A pool worker otherwise waits forever on its task queue, keeping the forkserver and the
    resource tracker alive with it: every crash of the bot would leak processes.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's end of the sentinel pipe closes
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class FeedParserPool:
    """Run parse_feed in worker processes so a long parse never stalls the event loop."""

    def __init__(
        self,
        max_workers: int = DEFAULT_PARSER_WORKERS,
        *,
        parse_function: ParseFunction = parse_feed,
    ) -> None:
        self._max_workers = max_workers
        self._parse_function = parse_function
        # forkserver: workers fork from a small single-threaded server, not from the bot,
        # whose threads (aiosqlite, the job queue, httpx) may hold locks that a plain fork
        # would copy into the child locked forever. Each worker is still a cheap fork, not
        # spawn's fresh interpreter; like spawn, it imports the parent's __main__ (as
        # __mp_main__), so the entry point must do its work under `if __name__ == ...`.
        self._context = multiprocessing.get_context("forkserver")
        # The forkserver (one per bot process, started with the first pool) loads the
        # morphology dictionaries once; workers fork from it with them loaded and shared.
        self._context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._max_workers, mp_context=self._context, initializer=start_worker
        )

    def start_workers(self) -> None:
        """Start the forkserver and every worker now, blocking until they are up.

        A ProcessPoolExecutor starts them on the first submits instead, in the submitting
        thread, which waits for the forkserver's preload (the dictionaries, ~0.3 s, longer on
        a busy machine): the bot calls this from a thread, so the event loop never waits.
        """
        executor = self._executor
        futures = [executor.submit(os.getpid) for _ in range(self._max_workers)]
        for future in futures:
            future.result()

    async def run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run a top-level function in a worker; raise ParserDiedError if the worker died."""
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return await loop.run_in_executor(
                executor, functools.partial(function, *args, **kwargs)
            )
        except BrokenProcessPool:
            self._replace(executor)
            raise ParserDiedError("parser process died") from None

    async def parse(
        self, body: bytes, headers: Mapping[str, str], *, url: str | None = None
    ) -> ParsedFeed:
        """Parse in a worker; a worker that dies yields an error result and a fresh pool."""
        try:
            return await self.run(self._parse_function, body, dict(headers), url=url)
        except ParserDiedError as error:
            return failed_parse(str(error))

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        # Several parses fail together when a pool breaks; only the first replaces it.
        if self._executor is broken:
            self._executor = self._new_executor()
            broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers, dropping parses not yet started."""
        self._executor.shutdown(wait=True, cancel_futures=True)
