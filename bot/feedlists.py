"""The feed list as OPML, for /exportfeeds and /importfeeds and for `newshound feeds`.

Export writes the stored feeds; import reads a list (bounded) and adds its feeds through
FeedImporter, each checked like /addfeed. The shell side brings its own fetcher and parser
workers, built as the bot builds them (the SSRF guard unless ALLOW_PRIVATE_FEEDS).
"""

import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot import __version__
from bot.config_tools import FeedToolSettings
from bot.ingest.feedimport import FeedImporter
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import check_public_url
from bot.ingest.opml import MAX_OPML_BYTES, ImportedFeed, OpmlFeed, write_opml
from bot.ingest.pool import FeedParserPool
from bot.render.opml import export_title
from bot.storage import Feeds

STANDARD_STREAM = "-"


async def export_document(storage: Feeds, now: datetime) -> tuple[bytes, int]:
    """Return every stored feed as an OPML document, and how many there are."""
    feeds = await storage.list_feeds()
    listed = [OpmlFeed(feed.url, feed.title) for feed in feeds]
    return write_opml(listed, title=export_title(), created=now), len(feeds)


async def import_with_own_fetcher(
    listed: Sequence[OpmlFeed], storage: Feeds, settings: FeedToolSettings
) -> list[ImportedFeed]:
    """Add listed feeds from the shell: a fetcher and parser workers for this run alone."""
    fetcher = Fetcher(
        concurrency=settings.fetch_concurrency,
        user_agent=f"Newshound/{__version__}",
        url_check=None if settings.allow_private_feeds else check_public_url,
    )
    parsers = FeedParserPool(settings.parse_workers)
    try:
        await asyncio.to_thread(parsers.start_workers)
        return await FeedImporter(fetcher, parsers, storage, time.time).add_all(listed)
    finally:
        parsers.close()
        await fetcher.aclose()


def read_source(source: str) -> bytes:
    """Read a list from a file or standard input ("-"), at most one byte past the bound
    (enough for read_opml to refuse it without reading a huge file whole)."""
    if source == STANDARD_STREAM:
        return sys.stdin.buffer.read(MAX_OPML_BYTES + 1)
    with Path(source).open("rb") as file:
        return file.read(MAX_OPML_BYTES + 1)


def write_target(target: str, document: bytes) -> None:
    """Write a document to a file or standard output ("-")."""
    if target == STANDARD_STREAM:
        sys.stdout.buffer.write(document)
        sys.stdout.buffer.flush()
    else:
        Path(target).write_bytes(document)
