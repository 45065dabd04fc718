"""Check a URL an admin wants to watch: fetch it, parse it, or find the feed a page links."""

from dataclasses import dataclass

from bot.feeds import FeedParserPool, Fetcher, FetchStatus, ParsedFeed, find_feed_links
from bot.i18n import N_, t

HTML_TYPES = ("text/html", "application/xhtml+xml")


class FeedRejected(Exception):
    """The URL is not a usable feed; the message says why, for the admin.

    The reason is a catalogue msgid and its parameters (the fetch or parse error inside
    stays as the fetcher wrote it: a diagnostic, not prose).
    """

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(t(msgid, **params))
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True)
class FoundFeed:
    """A feed that fetched and parsed, ready to add."""

    url: str
    title: str
    entries: int
    found_on_page: str | None = None


async def discover_feed(url: str, fetcher: Fetcher, parsers: FeedParserPool) -> FoundFeed:
    """Return the feed at url, or the first feed a web page at url advertises."""
    page_url, body, content_type, parsed = await _fetch_and_parse(url, fetcher, parsers)
    if parsed.entries or parsed.error is None:
        return FoundFeed(page_url, parsed.title, len(parsed.entries))
    if not content_type.startswith(HTML_TYPES) and "html" not in (parsed.error or ""):
        raise FeedRejected(N_("{url} is not a feed: {error}"), url=url, error=parsed.error)
    candidates = find_feed_links(body, page_url)
    if not candidates:
        raise FeedRejected(
            N_(
                "{url} is a web page that does not link to an RSS or Atom feed; "
                "paste the feed's own URL"
            ),
            url=url,
        )
    feed_url, _, _, feed = await _fetch_and_parse(candidates[0], fetcher, parsers)
    if feed.error is not None and not feed.entries:
        raise FeedRejected(
            N_("the page links to {url}, which is not a feed: {error}"),
            url=feed_url,
            error=feed.error,
        )
    return FoundFeed(feed_url, feed.title, len(feed.entries), found_on_page=page_url)


async def _fetch_and_parse(
    url: str, fetcher: Fetcher, parsers: FeedParserPool
) -> tuple[str, bytes, str, ParsedFeed]:
    fetched = await fetcher.fetch(url)
    if fetched.status is not FetchStatus.OK:
        raise FeedRejected(N_("could not fetch {url}: {error}"), url=url, error=fetched.error)
    parsed = await parsers.parse(fetched.body, fetched.headers, url=fetched.url)
    content_type = fetched.headers.get("content-type", "").lower()
    return fetched.url, fetched.body, content_type, parsed
