"""Check a URL an admin wants to watch: fetch it, parse it, or find the feed a page links."""

from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

from bot.i18n import N_, ReadableError
from bot.ingest.fetch import ALLOWED_SCHEMES, Fetcher, FetchStatus
from bot.ingest.parse import ParsedFeed
from bot.ingest.pool import FeedParserPool
from bot.ingest.urls import join_url, url_scheme

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_LINK_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})


class FeedRejected(ReadableError):
    """The URL is not a usable feed; the message says why, for the admin.

    The reason is a catalogue msgid and its parameters (the fetch or parse error inside
    stays as the fetcher wrote it: a diagnostic, not prose).
    """


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


class _FeedLinkParser(HTMLParser):
    """Collect <link rel="alternate"> feed hrefs and the <base href> of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name.lower(): (value or "").strip() for name, value in attrs}
        href = attributes.get("href", "")
        if not href:
            return
        if tag == "base" and self.base is None:
            self.base = href
        elif tag == "link" and _is_feed_link(attributes):
            self.hrefs.append(href)


def _is_feed_link(attributes: Mapping[str, str]) -> bool:
    rel = attributes.get("rel", "").lower().split()
    media_type = attributes.get("type", "").partition(";")[0].strip().lower()
    return "alternate" in rel and media_type in FEED_LINK_TYPES


def find_feed_links(html: bytes, base_url: str) -> list[str]:
    """Return the absolute RSS/Atom URLs a web page advertises, in page order."""
    parser = _FeedLinkParser()
    try:
        parser.feed(html.decode("utf-8", errors="replace"))
        parser.close()
    except AssertionError:
        # html.parser still asserts on some broken markup (`<![bogus[`); keep what was found.
        pass
    base = join_url(base_url, parser.base) if parser.base else base_url
    links = (join_url(base, href) for href in parser.hrefs)
    return list(dict.fromkeys(link for link in links if url_scheme(link) in ALLOWED_SCHEMES))
