"""The dry run (/try): how a query would have done on the past week's stories.

The full-text index answers most queries exactly (bot.matching.dryrun.search); for the
others (phrases) it gives candidates, each matched again on what live matching saw of it
(its packed analysis). A query with source: filters is checked story by story too, with
its feed's title and URL. Either way the count is the one live matching gave. Stories saved
since the index was last filled are indexed first, so a dry run never misses the newest; a
background task keeps that step short.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot.matching.dryrun import DRY_RUN_DAYS, search, window_start
from bot.matching.match import query_matches
from bot.matching.query import Query
from bot.matching.sources import StorySource, admits
from bot.storage import Storage, StorageUnavailable, TriedStory
from bot.text.packed import PackedTextError, unpack

log = logging.getLogger(__name__)

# The newest matches a dry run shows.
SHOWN_STORIES = 5
# Texts indexed per transaction: their tokens are worked out on the event loop (about
# 0.3 ms a story), so a batch keeps it busy for ~15 ms, and the writer a little longer.
INDEX_BATCH = 50
# Candidates matched between two yields to the event loop.
MATCH_CHUNK = 256
INDEX_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class DryRun:
    """How many stories of the last `days` days a query matches, and the newest of them."""

    matched: int
    newest: tuple[TriedStory, ...]
    days: int = DRY_RUN_DAYS


async def dry_run(storage: Storage, query: Query, now: float) -> DryRun:
    """Return the query's matches among the stories seen in the last DRY_RUN_DAYS."""
    await index_pending(storage)
    asked = search(query)
    since = window_start(now)
    found = await storage.search_story_ids(asked.candidates, since)
    if not asked.exact:  # a phrase, a NEAR, a source: filter: checked story by story
        sure = set(await storage.search_story_ids(asked.sure, since)) if asked.sure else set()
        found = await _matching(storage, query, found, sure)
    newest = await storage.tried_stories(found[:SHOWN_STORIES])
    return DryRun(len(found), tuple(newest))


async def _matching(
    storage: Storage, query: Query, candidates: list[int], sure: set[int]
) -> list[int]:
    """Return the candidates that are sure or that the query matches on their stored
    analyses, in order."""
    matched: list[int] = []
    for start in range(0, len(candidates), MATCH_CHUNK):
        chunk = candidates[start : start + MATCH_CHUNK]
        outlets = await _outlets(storage, query, chunk)
        chunk = [i for i in chunk if outlets is None or i in outlets]
        texts = dict(await storage.story_texts([i for i in chunk if i not in sure]))
        for story_id in chunk:
            if story_id in sure:
                matched.append(story_id)
                continue
            outlet = outlets.get(story_id) if outlets is not None else None
            try:
                if story_id in texts and query_matches(query, unpack(texts[story_id]), outlet):
                    matched.append(story_id)
            except PackedTextError:
                log.warning("Story %s has an unreadable dry-run text; skipped", story_id)
        await asyncio.sleep(0)  # others' updates go first between chunks
    return matched


async def _outlets(storage: Storage, query: Query, ids: list[int]) -> dict[int, StorySource] | None:
    """Return the outlets of the stories the query's source filters admit (None: no filter)."""
    if not query.has_source_filter:
        return None
    outlets = {
        story.id: StorySource.of_feed(story.source, story.source_url)
        for story in await storage.tried_stories(ids)
    }
    return {
        story_id: outlet
        for story_id, outlet in outlets.items()
        if admits(query.sources, query.excluded_sources, outlet)
    }


async def index_pending(storage: Storage) -> int:
    """Index every kept story text not indexed yet, a batch per transaction; return how many."""
    total = 0
    while (done := await storage.index_story_texts(INDEX_BATCH)) > 0:
        total += done
    return total


async def run_indexer(
    storage: Storage, stop: asyncio.Event, every: float = INDEX_EVERY_SECONDS
) -> None:
    """Index new story texts every few seconds until stop is set (dry runs stay quick)."""
    while not stop.is_set():
        try:
            await index_pending(storage)
        except StorageUnavailable as error:
            log.error("Cannot index stories for /try now, trying again later: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
