"""Add a list of feeds (an OPML import), each checked as /addfeed checks one.

Every URL goes through the same vetting as /addfeed: http(s) only, then the fetcher (with its
SSRF guard, size and time caps) and the parser, a web page searched for the feed it links.
Feeds are checked a few at a time, then stored one by one in the list's order;
a URL already watched is reported without being fetched again.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.i18n import N_
from bot.ingest.discovery import FeedRejected, FoundFeed, discover_feed
from bot.ingest.fetch import ALLOWED_SCHEMES, Fetcher
from bot.ingest.opml import ImportedFeed, ImportOutcome, OpmlFeed
from bot.ingest.pool import FeedParserPool
from bot.ingest.urls import url_scheme
from bot.storage import Feeds

log = logging.getLogger(__name__)

# Feeds checked at once. The fetcher bounds downloads, not the bodies then waiting for a
# parser worker: without this, a list of 500 feeds could hold 500 bodies of up to 5 MB.
CHECKS_AT_ONCE = 8


@dataclass(frozen=True)
class FeedImporter:
    """Check and add feeds with the bot's own fetcher, parsers and storage."""

    fetcher: Fetcher
    parsers: FeedParserPool
    storage: Feeds
    clock: Callable[[], float]

    async def add_all(self, feeds: Sequence[OpmlFeed]) -> list[ImportedFeed]:
        """Check every feed side by side, then store those that passed in the list's order
        (so an export lists them as the file did); return the outcomes in that order."""
        watched = {feed.url for feed in await self.storage.list_feeds()}
        slots = asyncio.Semaphore(CHECKS_AT_ONCE)

        async def check(listed: OpmlFeed) -> FoundFeed | ImportedFeed:
            async with slots:
                return await self._check(listed, watched)

        checked = await asyncio.gather(*(check(feed) for feed in feeds))
        return [
            await self._store(listed, found) if isinstance(found, FoundFeed) else found
            for listed, found in zip(feeds, checked, strict=True)
        ]

    async def _check(self, listed: OpmlFeed, watched: set[str]) -> FoundFeed | ImportedFeed:
        """The feed found at the listed URL, or the outcome already known without storing."""
        if listed.url in watched:
            return ImportedFeed(listed.url, listed.title, ImportOutcome.PRESENT)
        if url_scheme(listed.url) not in ALLOWED_SCHEMES:
            reason = FeedRejected(N_("Only http:// and https:// feed URLs can be added."))
            return ImportedFeed(listed.url, listed.title, ImportOutcome.REFUSED, reason)
        try:
            return await discover_feed(listed.url, self.fetcher, self.parsers)
        except FeedRejected as rejection:
            log.info("Import refused %s: %s", listed.url, rejection)
            return ImportedFeed(listed.url, listed.title, ImportOutcome.REFUSED, rejection)

    async def _store(self, listed: OpmlFeed, found: FoundFeed) -> ImportedFeed:
        # Each poll stores the feed's own title (alerts show it as the source), so that one
        # wins; the list's title is kept for a feed that names itself nothing.
        title = found.title or listed.title
        stored, created = await self.storage.add_feed(
            found.url, self.clock(), trusted=False, title=title
        )
        if not created:  # two entries of the list led to one feed, or it was added meanwhile
            return ImportedFeed(stored.url, stored.title, ImportOutcome.PRESENT)
        log.info("Imported feed %s", found.url)
        return ImportedFeed(found.url, title, ImportOutcome.ADDED)
