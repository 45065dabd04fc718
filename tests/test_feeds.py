"""Test fetching over real local HTTP and parsing feeds, including a corpus of real ones."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import pickle
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.ingest.discovery import find_feed_links
from bot.ingest.fetch import (
    DEFAULT_USER_AGENT,
    Fetcher,
    FetchLimits,
    FetchResult,
    FetchStatus,
    UnsafeURLError,
)
from bot.ingest.parse import MAX_ENTRIES, ParsedEntry, ParsedFeed, parse_feed
from bot.ingest.pinned_connector import VettedAddress
from bot.ingest.pool import FeedParserPool
from bot.ingest.response import parse_max_age, parse_retry_after
from tests import corpus
from tests.feedserver import FeedServer, Item, atom, gzip_bomb, make_item, rss

KB = 1024
MB = 1024 * KB
FAST = FetchLimits(connect_timeout=1.0, total_timeout=3.0, max_redirects=3)
SMALL = FetchLimits(connect_timeout=1.0, total_timeout=3.0, max_bytes=KB)
CORPUS = corpus.FEEDS
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# What a url_check that lets the FeedServer through answers: the address to connect to.
SERVER_ADDRESS = ipaddress.ip_address("127.0.0.1")
RSS_HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
# A bound that only a fetch ignoring its total timeout reaches.
DRIP_SAFETY_NET = 30.0


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


@contextlib.asynccontextmanager
async def open_fetcher(
    limits: FetchLimits = FAST,
    *,
    concurrency: int = 10,
    user_agent: str = DEFAULT_USER_AGENT,
    url_check: Callable[[str], Awaitable[Sequence[VettedAddress]]] | None = None,
) -> AsyncIterator[Fetcher]:
    fetcher = Fetcher(
        limits=limits, concurrency=concurrency, user_agent=user_agent, url_check=url_check
    )
    try:
        yield fetcher
    finally:
        await fetcher.aclose()


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with open_fetcher() as client:
        yield client


def feed_body(count: int = 3) -> str:
    return rss([make_item(n) for n in range(1, count + 1)])


def assert_error(result: FetchResult, reason: str) -> None:
    assert result.status is FetchStatus.ERROR
    assert result.error == reason
    assert result.body == b""


# ---- fetching: caching ----


async def test_fetch_then_not_modified_with_stored_validators(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_feed("/feed", feed_body())

    first = await fetcher.fetch(server.url("/feed"))
    second = await fetcher.fetch(
        server.url("/feed"), etag=first.etag, last_modified=first.last_modified
    )

    assert first.status is FetchStatus.OK
    assert first.body == feed_body().encode()
    assert first.etag and first.last_modified
    assert first.moved_to is None and first.error is None
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.body == b""
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    seen = server.last_headers("/feed")
    assert seen["if-none-match"] == first.etag
    assert seen["if-modified-since"] == first.last_modified


async def test_last_modified_alone_gives_not_modified(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", feed_body(), etag=None)
    first = await fetcher.fetch(server.url("/feed"))

    second = await fetcher.fetch(server.url("/feed"), last_modified=first.last_modified)

    assert first.etag is None
    assert second.status is FetchStatus.NOT_MODIFIED
    assert "if-none-match" not in server.last_headers("/feed")


async def test_changed_feed_is_fetched_despite_old_etag(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_feed("/feed", feed_body(1))
    first = await fetcher.fetch(server.url("/feed"))
    server.set_feed("/feed", feed_body(2))

    second = await fetcher.fetch(server.url("/feed"), etag=first.etag)

    assert second.status is FetchStatus.OK
    assert second.body == feed_body(2).encode()
    assert second.etag != first.etag


async def test_request_headers_identify_the_bot(server: FeedServer) -> None:
    server.set_feed("/feed", feed_body())
    async with open_fetcher(user_agent="Newshound-test/9") as custom:
        await custom.fetch(server.url("/feed"))
    custom_agent = server.last_headers("/feed")["user-agent"]
    async with open_fetcher() as default:
        await default.fetch(server.url("/feed"))

    seen = server.last_headers("/feed")
    assert custom_agent == "Newshound-test/9"
    assert seen["user-agent"] == DEFAULT_USER_AGENT
    assert seen["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in seen["accept"]


async def test_retry_after_and_max_age_on_success(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed(
        "/feed", feed_body(), headers={"Cache-Control": "public, max-age=300", "Retry-After": "60"}
    )

    result = await fetcher.fetch(server.url("/feed"))

    assert result.status is FetchStatus.OK
    assert result.max_age == 300.0
    assert result.retry_after == 60.0
    assert result.headers["cache-control"] == "public, max-age=300"


async def test_repeated_headers_are_joined(server: FeedServer, fetcher: Fetcher) -> None:
    # The feed's own header and the fault's: two Cache-Control lines in one response.
    server.set_feed("/feed", feed_body(), headers={"Cache-Control": "public"})
    server.set_fault("/feed", headers={"Cache-Control": "max-age=300"})

    result = await fetcher.fetch(server.url("/feed"))

    assert result.headers["cache-control"] == "public, max-age=300"
    assert result.max_age == 300.0


# ---- fetching: HTTP errors ----


async def test_missing_feed_is_404(server: FeedServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(server.url("/nothing"))

    assert_error(result, "HTTP 404 Not Found")
    assert result.http_status == 404


async def test_server_error_is_reported(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", feed_body())
    server.set_fault("/feed", status=500, body="boom")

    assert_error(await fetcher.fetch(server.url("/feed")), "HTTP 500 Internal Server Error")
    server.clear_fault("/feed")
    assert (await fetcher.fetch(server.url("/feed"))).status is FetchStatus.OK


async def test_429_retry_after_in_seconds(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_fault("/feed", status=429, headers={"Retry-After": "120"})

    result = await fetcher.fetch(server.url("/feed"))

    assert_error(result, "HTTP 429 Too Many Requests")
    assert result.retry_after == 120.0


async def test_503_retry_after_as_http_date(server: FeedServer, fetcher: Fetcher) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    server.set_fault("/feed", status=503, headers={"Retry-After": later})

    result = await fetcher.fetch(server.url("/feed"))

    assert_error(result, "HTTP 503 Service Unavailable")
    assert result.retry_after is not None
    assert 3500 < result.retry_after <= 3600


async def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe is closed.
    result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed")

    assert result.status is FetchStatus.ERROR
    assert result.error is not None and result.error.startswith("connection failed: ")


async def test_connect_timeout_is_told_apart(fetcher: Fetcher) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # One connection fills a backlog of 0: the kernel drops further SYNs, so the next
        # connect hangs until the connect timeout (FAST: 1 s of the 3 s total).
        with socket.create_connection(("127.0.0.1", port)):
            result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed")

    assert_error(result, "connection timed out after 1 s")


async def test_body_cut_short_is_an_error(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", feed_body())
    server.set_fault("/feed", truncate_at=100)

    result = await fetcher.fetch(server.url("/feed"))

    assert result.status is FetchStatus.ERROR
    assert result.error is not None and result.error.startswith("connection failed: ")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/feed.xml", "unsupported scheme ftp"),
        ("example.com/feed.xml", "unsupported scheme (none)"),
        ("http://[::1/feed", "invalid URL: Invalid IPv6 URL"),
    ],
)
async def test_bad_urls_are_errors(fetcher: Fetcher, url: str, reason: str) -> None:
    assert_error(await fetcher.fetch(url), reason)


# ---- fetching: size and time limits ----


async def test_size_cap_with_content_length(server: FeedServer) -> None:
    server.set_feed("/big", b"x" * (10 * KB))
    async with open_fetcher(SMALL) as fetcher:
        result = await fetcher.fetch(server.url("/big"))

    assert_error(result, "response larger than 1 KB")


async def test_size_cap_without_content_length(server: FeedServer) -> None:
    server.set_feed("/big", b"x" * (10 * KB))
    server.set_fault("/big", omit_content_length=True)
    async with open_fetcher(SMALL) as fetcher:
        result = await fetcher.fetch(server.url("/big"))

    assert_error(result, "response larger than 1 KB")


async def test_content_length_over_cap_refused_before_reading(server: FeedServer) -> None:
    # A megabyte announced, 100 bytes sent: reading the body would end in "connection
    # failed" (cut short), not in the size error, which only the announced length gives.
    server.set_fault(
        "/big", body=b"x" * 100, headers={"Content-Length": str(MB)}, omit_content_length=True
    )
    async with open_fetcher(SMALL) as fetcher:
        result = await fetcher.fetch(server.url("/big"))

    assert_error(result, "response larger than 1 KB")


async def test_gzip_body_is_decompressed(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", feed_body())
    server.set_fault("/feed", gzip=True)

    result = await fetcher.fetch(server.url("/feed"))

    assert result.status is FetchStatus.OK
    assert result.body == feed_body().encode()
    assert result.headers["content-encoding"] == "gzip"


async def test_gzip_bomb_refused_while_streaming(server: FeedServer) -> None:
    bomb = gzip_bomb(50 * MB)
    assert len(bomb) < 100 * KB
    server.set_fault("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    async with open_fetcher(FetchLimits(total_timeout=5.0)) as fetcher:
        result = await fetcher.fetch(server.url("/bomb"))

    assert_error(result, "response larger than 5 MB")


@pytest.mark.parametrize(
    "encode",
    [zlib.compress, lambda data: zlib.compress(data)[2:-4]],
    ids=["zlib-deflate", "raw-deflate"],
)
async def test_deflate_in_both_wrappings(
    server: FeedServer, fetcher: Fetcher, encode: Callable[[bytes], bytes]
) -> None:
    body = feed_body().encode()
    compressed = encode(body)

    server.set_fault("/feed", body=compressed, headers={"Content-Encoding": "deflate"})

    result = await fetcher.fetch(server.url("/feed"))

    assert result.status is FetchStatus.OK
    assert result.body == body


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_corrupt_compressed_body_is_an_error(
    server: FeedServer, fetcher: Fetcher, coding: str
) -> None:
    server.set_fault("/feed", body=b"\xff" * 64, headers={"Content-Encoding": coding})

    result = await fetcher.fetch(server.url("/feed"))

    assert result.status is FetchStatus.ERROR
    assert result.error is not None
    assert result.error.startswith("could not decompress response: ")


async def test_unrequested_content_encoding_is_an_error(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_fault("/feed", body=b"\x0b\x02\x80", headers={"Content-Encoding": "br"})

    result = await fetcher.fetch(server.url("/feed"))

    assert_error(result, "unsupported Content-Encoding br")


async def test_dripping_server_hits_total_timeout(server: FeedServer) -> None:
    server.set_feed("/drip", feed_body())
    server.set_fault("/drip", drip_bytes_per_second=4)
    async with open_fetcher(FetchLimits(total_timeout=0.5)) as fetcher:
        # The body takes minutes at 4 bytes/s: only the total timeout ends the fetch before
        # this safety net.
        result = await asyncio.wait_for(fetcher.fetch(server.url("/drip")), DRIP_SAFETY_NET)

    assert_error(result, "timed out after 0.5 s")


async def test_concurrency_cap_is_honoured(server: FeedServer) -> None:
    server.set_feed("/slow", feed_body())
    server.set_fault("/slow", delay=0.15)
    async with open_fetcher(concurrency=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/slow")) for _ in range(5)))

    assert all(result.status is FetchStatus.OK for result in results)
    assert server.hits("/slow") == 5
    assert server.max_concurrent == 2


# ---- fetching: redirects ----


async def test_permanent_redirect_chain_sets_moved_to(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/new", feed_body())
    server.set_fault("/old", redirect_to="/middle", status=301)
    server.set_fault("/middle", redirect_to="/new", status=308)

    result = await fetcher.fetch(server.url("/old"))

    assert result.status is FetchStatus.OK
    assert result.url == server.url("/new")
    assert result.moved_to == server.url("/new")


@pytest.mark.parametrize("second_status", [302, 307])
async def test_temporary_hop_leaves_moved_to_unset(
    server: FeedServer, fetcher: Fetcher, second_status: int
) -> None:
    server.set_feed("/new", feed_body())
    server.set_fault("/old", redirect_to="/middle", status=301)
    server.set_fault("/middle", redirect_to="/new", status=second_status)

    result = await fetcher.fetch(server.url("/old"))

    assert result.status is FetchStatus.OK
    assert result.url == server.url("/new")
    assert result.moved_to is None


async def test_permanent_redirect_to_an_error_does_not_move(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_fault("/old", redirect_to="/gone", status=301)

    result = await fetcher.fetch(server.url("/old"))

    assert_error(result, "HTTP 404 Not Found")
    assert result.moved_to is None
    assert result.url == server.url("/gone")


async def test_redirect_loop_is_too_many_redirects(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_fault("/loop", redirect_to="/loop", status=301)

    result = await fetcher.fetch(server.url("/loop"))

    assert_error(result, "too many redirects")
    assert server.hits("/loop") == FAST.max_redirects + 1


async def test_redirect_to_ftp_is_refused(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_fault("/feed", redirect_to="ftp://example.com/feed.xml", status=301)

    assert_error(await fetcher.fetch(server.url("/feed")), "redirect to unsupported scheme ftp")


async def test_redirect_without_location_is_an_error(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_fault("/feed", status=302, body=b"")

    result = await fetcher.fetch(server.url("/feed"))

    assert_error(result, "HTTP 302 Found without a Location header")


async def test_url_check_sees_every_hop(server: FeedServer) -> None:
    checked: list[str] = []

    async def check(url: str) -> list[VettedAddress]:
        checked.append(url)
        return [SERVER_ADDRESS]

    server.set_feed("/c", feed_body())
    server.set_fault("/a", redirect_to="/b")
    server.set_fault("/b", redirect_to="/c")
    async with open_fetcher(url_check=check) as fetcher:
        result = await fetcher.fetch(server.url("/a"))

    assert result.status is FetchStatus.OK
    assert checked == [server.url("/a"), server.url("/b"), server.url("/c")]


async def test_url_check_can_refuse_a_hop(server: FeedServer) -> None:
    async def check(url: str) -> list[VettedAddress]:
        if url.endswith("/private"):
            raise UnsafeURLError("address 10.0.0.1 is private")
        return [SERVER_ADDRESS]

    server.set_feed("/private", feed_body())
    server.set_fault("/public", redirect_to="/private")
    async with open_fetcher(url_check=check) as fetcher:
        result = await fetcher.fetch(server.url("/public"))

    assert_error(result, "refused: address 10.0.0.1 is private")
    assert result.url == server.url("/private")
    assert server.hits("/private") == 0


# ---- header helpers ----


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("-5", None),
        ("Wed, 01 May 2024 12:10:00 GMT", 600.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("no-cache", None),
        ("public, max-age=300", 300.0),
        ('MAX-AGE="60", s-maxage=10', 60.0),
        ("max-age=abc", None),
        ("max-age=-1", None),
    ],
)
def test_parse_max_age(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected


# ---- parsing ----


def test_parse_rss() -> None:
    items: list[Item] = [make_item(1, content="<p>Full <b>text</b></p>"), make_item(2)]
    parsed = parse_feed(rss(items, title="World & more", ttl=30).encode(), RSS_HEADERS)

    assert parsed.error is None and parsed.bozo is None
    assert parsed.title == "World & more"
    assert parsed.link == "http://example.com/"
    assert parsed.ttl_minutes == 30
    assert parsed.entries[0] == ParsedEntry(
        guid="urn:newshound:test:1",
        link="http://example.com/story/1",
        title="Story 1",
        published=datetime(2024, 1, 1, 12, 1, tzinfo=UTC),
        bodies=("<p>Full <b>text</b></p>", "Summary of story 1"),
    )
    assert parsed.entries[1].bodies == ("Summary of story 2",)


def test_parse_atom() -> None:
    items: list[Item] = [make_item(1, content="<p>Full</p>")]
    parsed = parse_feed(atom(items).encode(), {"content-type": "application/atom+xml"})

    assert parsed.error is None
    assert parsed.title == "Test feed"
    assert parsed.link == "http://example.com/"
    (entry,) = parsed.entries
    assert entry.guid == "urn:newshound:test:1"
    assert entry.link == "http://example.com/story/1"
    assert entry.published == datetime(2024, 1, 1, 12, 1, tzinfo=UTC)
    assert entry.bodies == ("<p>Full</p>", "Summary of story 1")


RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://example.org/rss">
    <title>RDF news</title><link>http://example.org/</link><description>d</description>
  </channel>
  <item rdf:about="http://example.org/a">
    <title>First</title><link>http://example.org/a</link>
    <description>About &lt;i&gt;a&lt;/i&gt;</description><dc:date>2024-03-02T10:00:00Z</dc:date>
  </item>
</rdf:RDF>"""


def test_parse_rdf() -> None:
    parsed = parse_feed(RDF, {})

    assert parsed.error is None
    assert parsed.title == "RDF news"
    (entry,) = parsed.entries
    assert entry.title == "First"
    assert entry.link == "http://example.org/a"
    assert entry.published == datetime(2024, 3, 2, 10, 0, tzinfo=UTC)
    assert entry.bodies == ("About <i>a</i>",)


@pytest.mark.parametrize(
    ("body", "headers", "error"),
    [
        (
            b"<!DOCTYPE html><html><head><title>News</title></head><body><p>Hi</p></body></html>",
            {"content-type": "text/html; charset=utf-8"},
            "not a feed (looks like HTML)",
        ),
        (
            b'{"items": [{"title": "x"}]}',
            {"content-type": "application/json"},
            "not a feed (looks like JSON)",
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
            {},
            "not a feed (JSON Feed is not supported)",
        ),
        (b"", {}, "empty document"),
        (b"  \r\n ", RSS_HEADERS, "empty document"),
        (b"<note><to>you</to></note>", {}, "not a feed (no RSS, Atom or RDF root element)"),
    ],
    ids=["html", "json", "json-feed", "empty", "blank", "other-xml"],
)
def test_not_a_feed(body: bytes, headers: dict[str, str], error: str) -> None:
    parsed = parse_feed(body, headers)

    assert parsed.entries == ()
    assert parsed.error == error


def test_truncated_xml_keeps_what_it_can() -> None:
    whole = feed_body(3)
    cut = whole[: whole.index("<item>", whole.index("Story 2")) + 20].encode()

    parsed = parse_feed(cut, RSS_HEADERS)

    titles = [entry.title for entry in parsed.entries]
    assert titles, parsed.error
    assert titles[:2] == ["Story 1", "Story 2"]
    assert parsed.error is None
    assert parsed.bozo is not None and parsed.bozo.startswith("XML error at line")


def test_truncated_before_any_item_is_an_error() -> None:
    whole = feed_body(3)
    cut = whole[: whole.index("<item>")].encode()

    parsed = parse_feed(cut, RSS_HEADERS)

    assert parsed.entries == ()
    assert parsed.error is not None and parsed.error.startswith("malformed feed, no entries: ")


def test_stray_ampersand_keeps_entries_and_notes_bozo() -> None:
    body = rss([make_item(1)]).replace("Story 1", "Tom & Jerry").encode()

    parsed = parse_feed(body, RSS_HEADERS)

    assert parsed.error is None
    assert parsed.bozo is not None
    assert [entry.title for entry in parsed.entries] == ["Tom & Jerry"]


def test_empty_but_valid_feed_is_not_an_error() -> None:
    parsed = parse_feed(rss([]).encode(), RSS_HEADERS)

    assert parsed.entries == ()
    assert parsed.error is None
    assert parsed.title == "Test feed"


def test_charset_from_content_type_header() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Новости</title>'
        "<item><title>Привет, мир</title><guid>1</guid></item></channel></rss>"
    ).encode("windows-1251")

    parsed = parse_feed(body, {"Content-Type": "application/rss+xml; charset=windows-1251"})

    assert parsed.title == "Новости"
    assert [entry.title for entry in parsed.entries] == ["Привет, мир"]


def test_entry_with_nothing_but_text() -> None:
    body = rss([Item(description="Only text")]).encode()

    (entry,) = parse_feed(body, RSS_HEADERS).entries

    assert entry == ParsedEntry(
        guid=None, link=None, title="", published=None, bodies=("Only text",)
    )


def test_bad_date_and_ttl_become_none() -> None:
    body = (
        rss([make_item(1)], ttl=5)
        .replace("<ttl>5</ttl>", "<ttl>soon</ttl>")
        .replace("Mon, 01 Jan 2024 12:01:00 GMT", "yesterday-ish")
        .encode()
    )

    parsed = parse_feed(body, RSS_HEADERS)

    assert parsed.ttl_minutes is None
    assert parsed.entries[0].published is None


def test_relative_links_resolve_against_feed_link() -> None:
    items: list[Item] = [Item(title="a", link="/story/1"), Item(title="b", link="story/2")]
    body = rss(items, link="http://example.com/news/").encode()

    parsed = parse_feed(body, RSS_HEADERS, url="http://feeds.example.org/news.xml")

    assert [entry.link for entry in parsed.entries] == [
        "http://example.com/story/1",
        "http://example.com/news/story/2",
    ]


def test_relative_links_resolve_against_url_when_feed_link_is_relative() -> None:
    items: list[Item] = [Item(title="a", link="story/1", guid="1")]
    body = rss(items, link="/site/").encode()

    parsed = parse_feed(body, RSS_HEADERS, url="http://feeds.example.org/x/feed.xml")

    assert parsed.link == "http://feeds.example.org/site/"
    assert parsed.entries[0].link == "http://feeds.example.org/site/story/1"
    # The guid is an identity, not a link: it must not change with the feed's URL.
    assert parsed.entries[0].guid == "1"


def test_unparseable_link_keeps_its_entry() -> None:
    items: list[Item] = [Item(title="odd", link="http://[broken/x"), make_item(2)]

    parsed = parse_feed(rss(items).encode(), RSS_HEADERS, url="http://example.com/feed")

    assert [entry.link for entry in parsed.entries] == [
        "http://[broken/x",
        "http://example.com/story/2",
    ]


def test_entries_are_capped_keeping_feed_order() -> None:
    items = [Item(title=f"t{n}", guid=f"g{n}") for n in range(MAX_ENTRIES + 5)]

    parsed = parse_feed(rss(items).encode(), RSS_HEADERS)

    assert len(parsed.entries) == MAX_ENTRIES
    assert parsed.entries[0].guid == "g0"
    assert parsed.skipped_entries == 5


def test_parsed_feed_survives_pickling() -> None:
    parsed = parse_feed(rss([make_item(1)]).encode(), RSS_HEADERS)

    assert pickle.loads(pickle.dumps(parsed)) == parsed


# ---- feed discovery ----


def test_find_feed_links() -> None:
    page = b"""<!doctype html><html><head>
      <link rel="stylesheet" type="text/css" href="/style.css">
      <link rel="alternate" type="application/rss+xml" title="All" href="/feed.xml">
      <LINK REL="Alternate feed" TYPE="application/atom+xml; charset=utf-8" HREF="atom.xml"/>
      <link rel="alternate" type="application/rss+xml" href="https://cdn.example.net/f.rss">
      <link rel="alternate" type="application/rss+xml" href="/feed.xml">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      <link rel="alternate" type="application/rss+xml" href="http://[broken">
      <link rel="alternate" hreflang="de" href="/de/">
    </head><body><a href="/other.rss">not a link tag</a></body></html>"""

    links = find_feed_links(page, "https://example.com/blog/post")

    assert links == [
        "https://example.com/feed.xml",
        "https://example.com/blog/atom.xml",
        "https://cdn.example.net/f.rss",
    ]


def test_find_feed_links_honours_base_and_survives_broken_markup() -> None:
    page = b"""<html><head><base href="https://static.example.com/x/">
      <link rel="alternate" type="application/atom+xml" href="feed.atom">
      <![bogus[ ]]>
      <link rel="alternate" type="application/rss+xml" href="late.rss">"""

    links = find_feed_links(page, "https://example.com/")

    assert links[0] == "https://static.example.com/x/feed.atom"


# ---- process pool ----


POISON = b"<crash/>"


def die_on_poison(body: bytes, headers: Mapping[str, str], *, url: str | None = None) -> ParsedFeed:
    """Parse like parse_feed, but kill the worker process on POISON (as a segfault would)."""
    if body == POISON:
        os._exit(1)
    return parse_feed(body, headers, url=url)


async def test_pool_parses_in_another_process() -> None:
    pool = FeedParserPool(max_workers=1)
    try:
        body = rss([make_item(1)]).encode()
        parsed = await pool.parse(body, RSS_HEADERS, url="http://example.com/feed")
    finally:
        pool.close()

    assert parsed == parse_feed(body, RSS_HEADERS, url="http://example.com/feed")


async def test_pool_survives_a_dying_worker() -> None:
    pool = FeedParserPool(max_workers=1, parse_function=die_on_poison)
    try:
        crashed = await pool.parse(POISON, {})
        recovered = await pool.parse(rss([make_item(1)]).encode(), RSS_HEADERS)
    finally:
        pool.close()

    assert crashed.error == "parser process died"
    assert crashed.entries == ()
    assert [entry.title for entry in recovered.entries] == ["Story 1"]


# ---- real-world corpus ----


def corpus_files(kind: str) -> list[Path]:
    folder = CORPUS / kind
    return sorted(folder.iterdir()) if folder.is_dir() else []


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="feed corpus not present")


@needs_corpus
@pytest.mark.parametrize("path", corpus_files("real"), ids=lambda path: path.name)
def test_real_feeds_parse(path: Path) -> None:
    parsed = parse_feed(path.read_bytes(), {})

    assert parsed.error is None
    assert parsed.title
    assert parsed.entries
    # A few feeds carry stub items (an rdf:about and nothing else); all others are complete.
    for entry in parsed.entries:
        if entry.title or entry.bodies:
            assert entry.title and entry.link, entry
        else:
            assert entry.guid, entry


@needs_corpus
@pytest.mark.parametrize("path", corpus_files("illformed"), ids=lambda path: path.name)
def test_illformed_feeds_never_raise(path: Path) -> None:
    parsed = parse_feed(path.read_bytes(), {})

    if not parsed.entries:
        # Only a well-formed feed that simply has no items may come back without an error.
        assert parsed.error is not None or parsed.bozo is None, parsed


def test_photo_caption_is_not_taken_for_the_story_text() -> None:
    body = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>T</title>
<item><title>Story</title><link>https://x.example/1</link>
<description>The real summary of the story.</description>
<media:content url="https://x.example/p.jpg"><media:description>A long photo caption that
is longer than the summary and describes only the picture in great detail.</media:description>
</media:content></item></channel></rss>"""
    parsed = parse_feed(body, {"content-type": "application/rss+xml"})
    assert parsed.entries[0].bodies == ("The real summary of the story.",)


@pytest.mark.parametrize("omit_length", [False, True], ids=["content-length", "streamed"])
async def test_size_cap_boundary(server: FeedServer, omit_length: bool) -> None:
    server.set_feed("/at", b"x" * KB)
    server.set_feed("/past", b"x" * (KB + 1))
    for path in ("/at", "/past"):
        server.set_fault(path, omit_content_length=omit_length)
    async with open_fetcher(SMALL) as fetcher:
        at_cap = await fetcher.fetch(server.url("/at"))
        past_cap = await fetcher.fetch(server.url("/past"))

    assert at_cap.status is FetchStatus.OK
    assert at_cap.body == b"x" * KB
    assert_error(past_cap, "response larger than 1 KB")


async def test_redirect_count_boundary(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/end", feed_body())
    hops = FAST.max_redirects
    for n in range(hops):
        server.set_fault(f"/ok{n}", redirect_to=f"/ok{n + 1}" if n + 1 < hops else "/end")
    server.set_fault("/extra", redirect_to="/ok0")

    allowed = await fetcher.fetch(server.url("/ok0"))
    one_too_many = await fetcher.fetch(server.url("/extra"))

    assert allowed.status is FetchStatus.OK
    assert_error(one_too_many, "too many redirects")
