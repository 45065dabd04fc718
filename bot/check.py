"""`newshound check`: try a feed and queries from the command line, no Telegram, no database."""

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bot import __version__
from bot.i18n import t, tn
from bot.ingest.fetch import Fetcher, FetchStatus
from bot.ingest.prepare import PreparedFeed, prepare_feed
from bot.matching.match import query_matches
from bot.matching.query import Query, parse_query
from bot.matching.sources import StorySource
from bot.render.alerts import Alert, format_alert_plain

CHECK_FEED_ID = 0


class CheckError(Exception):
    """The feed or a query cannot be checked; the message says why."""


def parse_queries(texts: Sequence[str]) -> list[Query]:
    """Parse every --query, refusing the first invalid one with its reason."""
    queries = []
    for text in texts:
        try:
            queries.append(parse_query(text))
        except ValueError as error:
            raise CheckError(f"query {text!r} is not valid: {error}") from None
    return queries


async def load_feed(source: str) -> PreparedFeed:
    """Fetch an http(s) URL or read a local file, and parse it into stories."""
    now = time.time()
    if urlsplit(source).scheme in ("http", "https"):
        fetcher = Fetcher(user_agent=f"Newshound/{__version__} (check)")
        try:
            fetched = await fetcher.fetch(source)
        finally:
            await fetcher.aclose()
        if fetched.status is not FetchStatus.OK:
            raise CheckError(f"cannot fetch {source}: {fetched.error}")
        body, headers, url = fetched.body, fetched.headers, fetched.url
    else:
        body, headers, url = await asyncio.to_thread(_read_file, source)
    prepared = prepare_feed(CHECK_FEED_ID, body, headers, url, now)
    if prepared.error and not prepared.stories:
        raise CheckError(f"{source} is not a usable feed: {prepared.error}")
    return prepared


def _read_file(source: str) -> tuple[bytes, dict[str, str], str]:
    path = Path(source)
    try:
        return path.read_bytes(), {}, path.absolute().as_uri()
    except OSError as error:
        raise CheckError(f"cannot read {source}: {error.strerror}") from None


def report(feed: PreparedFeed, queries: Sequence[Query], url: str = "") -> str:
    """Return every matching entry as a user would see its alert, in plain text.

    url: where the feed was read from, the host source: filters look at.
    """
    blocks = []
    source = StorySource.of_feed(feed.title, url)
    for candidate in feed.stories:
        matched = tuple(q.display for q in queries if query_matches(q, candidate.analyzed, source))
        if not matched:
            continue
        story = candidate.story
        alert = Alert(story.title, story.link, feed.title, story.published, story.summary, matched)
        blocks.append(format_alert_plain(alert))
    blocks.append(
        tn(
            "{matched} of {n} entry in {title} matched.",
            "{matched} of {n} entries in {title} matched.",
            len(feed.stories),
            matched=len(blocks),
            title=feed.title or t("untitled feed"),
        )
    )
    return "\n\n---\n\n".join(blocks)


async def run_check(source: str, query_texts: Sequence[str]) -> str:
    """Check a feed against queries and return the report to print."""
    queries = parse_queries(query_texts)
    return report(await load_feed(source), queries, source)
