"""Refuse feeds that reach into private networks: deny-list, URL check, every redirect hop."""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from bot.app import add_configured_feeds
from bot.config import load_settings
from bot.ingest.discovery import FeedRejected, discover_feed
from bot.ingest.fetch import Fetcher, FetchLimits, FetchStatus, UnsafeURLError
from bot.ingest.netguard import IPAddress, check_public_url, denied_reason, resolve
from bot.ingest.pinned_connector import PinnedConnections, VettedAddress
from bot.ingest.poller import Poller
from bot.ingest.pool import FeedParserPool
from bot.matching.index import SubscriptionIndex
from bot.storage.sqlite import SqliteStorage
from tests.feedserver import FeedServer, make_item, rss

LIMITS = FetchLimits(connect_timeout=1.0, total_timeout=3.0, max_redirects=3)
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
# Stands in for a public answer about the FeedServer's 127.0.0.1, so that a hop can pass
# the check and reach the server: the server then redirects somewhere it must not go.
PUBLIC_STAND_IN = ipaddress.ip_address("93.184.216.34")
LOOPBACK_REFUSED = "is in the non-public network 127.0.0.0/8"


# ---- the deny-list, address by address ----


@pytest.mark.parametrize(
    ("address", "network"),
    [
        pytest.param("127.0.0.1", "127.0.0.0/8", id="loopback"),
        pytest.param("127.255.255.254", "127.0.0.0/8", id="loopback-top"),
        pytest.param("::1", "::1/128", id="loopback-v6"),
        # is_loopback is False for the mapped form: the embedded address must be judged.
        pytest.param("::ffff:127.0.0.1", "127.0.0.0/8", id="mapped-loopback"),
        pytest.param("::ffff:169.254.169.254", "169.254.0.0/16", id="mapped-metadata"),
        pytest.param("::ffff:10.0.0.1", "10.0.0.0/8", id="mapped-private"),
        pytest.param("10.0.0.1", "10.0.0.0/8", id="private-10"),
        pytest.param("172.16.5.4", "172.16.0.0/12", id="private-172"),
        pytest.param("172.31.255.255", "172.16.0.0/12", id="private-172-top"),
        pytest.param("192.168.1.1", "192.168.0.0/16", id="private-192"),
        # Carrier-grade NAT: neither is_private nor is_global.
        pytest.param("100.64.0.1", "100.64.0.0/10", id="cgnat"),
        pytest.param("100.127.255.254", "100.64.0.0/10", id="cgnat-top"),
        pytest.param("169.254.169.254", "169.254.0.0/16", id="metadata"),
        pytest.param("169.254.0.1", "169.254.0.0/16", id="link-local"),
        pytest.param("fe80::1", "fe80::/10", id="link-local-v6"),
        pytest.param("fe80::1%eth0", "fe80::/10", id="link-local-v6-scoped"),
        # NAT64 of the metadata address: is_global is True for it.
        pytest.param("64:ff9b::a9fe:a9fe", "64:ff9b::/96", id="nat64-metadata"),
        pytest.param("64:ff9b::7f00:1", "64:ff9b::/96", id="nat64-loopback"),
        pytest.param("64:ff9b:1::a9fe:a9fe", "64:ff9b:1::/48", id="nat64-local-use"),
        pytest.param("2002:a9fe:a9fe::1", "2002::/16", id="6to4-metadata"),
        pytest.param("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32", id="teredo"),
        # Multicast: is_global is True for some of it.
        pytest.param("224.0.0.1", "224.0.0.0/4", id="multicast"),
        pytest.param("239.255.255.250", "224.0.0.0/4", id="multicast-ssdp"),
        pytest.param("ff02::1", "ff00::/8", id="multicast-v6"),
        pytest.param("ff0e::1", "ff00::/8", id="multicast-v6-global-scope"),
        pytest.param("0.0.0.0", "0.0.0.0/8", id="unspecified"),
        pytest.param("0.1.2.3", "0.0.0.0/8", id="this-network"),
        pytest.param("::", "::/128", id="unspecified-v6"),
        pytest.param("255.255.255.255", "240.0.0.0/4", id="broadcast"),
        pytest.param("240.0.0.1", "240.0.0.0/4", id="reserved"),
        pytest.param("fd00::1", "fc00::/7", id="unique-local"),
        pytest.param("192.0.0.170", "192.0.0.0/24", id="ietf-protocol"),
        pytest.param("198.18.0.1", "198.18.0.0/15", id="benchmarking"),
        pytest.param("192.0.2.1", "192.0.2.0/24", id="documentation"),
        pytest.param("2001:db8::1", "2001:db8::/32", id="documentation-v6"),
        pytest.param(
            "::127.0.0.1",
            "::/96",
            id="ipv4-compatible-loopback",
        ),
        pytest.param(
            "::169.254.169.254",
            "::/96",
            id="ipv4-compatible-metadata",
        ),
        pytest.param(
            "::ffff:0:169.254.169.254",
            "::ffff:0:0:0/96",
            id="ipv4-translated-metadata",
        ),
    ],
)
def test_denied_addresses(address: str, network: str) -> None:
    reason = denied_reason(ipaddress.ip_address(address))

    assert reason is not None
    assert reason.endswith(f"is in the non-public network {network}")


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700::1111",
        # Just outside the denied ranges: the deny-list must not be too wide.
        "2001:4860:4860::8888",
        "100.63.255.255",
        "100.128.0.1",
        "172.15.255.255",
        "172.32.0.1",
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert denied_reason(ipaddress.ip_address(address)) is None


# ---- check_public_url with an injected resolver ----


class FakeResolver:
    """Answer every lookup with fixed addresses and remember what was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses: list[IPAddress] = [ipaddress.ip_address(a) for a in addresses]
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        return list(self.addresses)


@pytest.mark.parametrize(
    ("url", "asked"),
    [
        ("http://example.test/feed", ("example.test", 80)),
        ("https://example.test/feed", ("example.test", 443)),
        ("http://example.test:8080/feed", ("example.test", 8080)),
        ("https://example.test:8443/feed", ("example.test", 8443)),
        ("HTTP://Example.TEST/feed", ("example.test", 80)),
    ],
    ids=["http", "https", "explicit-port", "https-explicit-port", "upper-case"],
)
async def test_public_host_passes_on_usual_and_explicit_ports(
    url: str, asked: tuple[str, int]
) -> None:
    resolver = FakeResolver("93.184.216.34", "2606:4700::1111")

    await check_public_url(url, resolver=resolver)

    assert resolver.asked == [asked]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            ("10.1.2.3",),
            "example.test resolves to 10.1.2.3 is in the non-public network 10.0.0.0/8",
        ),
        (
            ("93.184.216.34", "169.254.169.254"),
            "example.test resolves to 169.254.169.254 is in the non-public network 169.254.0.0/16",
        ),
        (
            ("2606:4700::1111", "64:ff9b::a9fe:a9fe"),
            "example.test resolves to 64:ff9b::a9fe:a9fe is in the non-public network 64:ff9b::/96",
        ),
        (
            ("::ffff:127.0.0.1",),
            f"example.test resolves to 127.0.0.1 {LOOPBACK_REFUSED}",
        ),
    ],
    ids=["private", "one-of-several-is-metadata", "nat64-among-public", "mapped-loopback"],
)
async def test_any_private_answer_refuses(answer: tuple[str, ...], reason: str) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        await check_public_url("http://example.test/feed", resolver=FakeResolver(*answer))

    assert str(refused.value) == reason


async def test_unresolvable_host_is_refused() -> None:
    async def failing(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeURLError, match=r"^cannot resolve nowhere\.test: "):
        await check_public_url("http://nowhere.test/feed", resolver=failing)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.test/feed.xml", "only http and https URLs are allowed, not ftp"),
        ("file:///etc/passwd", "only http and https URLs are allowed, not file"),
        ("gopher://example.test:70/_GET", "only http and https URLs are allowed, not gopher"),
        ("javascript:alert(1)", "only http and https URLs are allowed, not javascript"),
        ("feed://example.test/rss", "only http and https URLs are allowed, not feed"),
        ("example.test/feed", "only http and https URLs are allowed, not ?"),
        ("http:///feed", "the URL has no host"),
        ("http://example.test:99999/feed", "invalid URL: Port out of range 0-65535"),
    ],
    ids=["ftp", "file", "gopher", "javascript", "feed", "no-scheme", "no-host", "bad-port"],
)
async def test_other_schemes_and_broken_urls_are_refused_unresolved(url: str, reason: str) -> None:
    resolver = FakeResolver("93.184.216.34")

    with pytest.raises(UnsafeURLError) as refused:
        await check_public_url(url, resolver=resolver)

    assert str(refused.value) == reason
    assert resolver.asked == []


# ---- check_public_url with the real resolver (IP literals and localhost: no DNS) ----


@pytest.mark.parametrize(
    ("url", "network"),
    [
        ("http://2130706433/", "127.0.0.0/8"),
        ("http://0x7f000001/", "127.0.0.0/8"),
        ("http://0177.0.0.1/", "127.0.0.0/8"),
        ("http://127.1/", "127.0.0.0/8"),
        ("http://127.0.1/", "127.0.0.0/8"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.0/8"),
        ("http://[::ffff:7f00:1]:8080/", "127.0.0.0/8"),
        ("http://[::]/", "::/128"),
        ("http://0.0.0.0/", "0.0.0.0/8"),
        ("http://0/", "0.0.0.0/8"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::/96"),
        ("http://public.example@127.0.0.1/", "127.0.0.0/8"),
        ("https://127\u30020\u30020\u30021/", "127.0.0.0/8"),
    ],
    ids=[
        "decimal",
        "hex",
        "octal",
        "short-127.1",
        "short-127.0.1",
        "mapped",
        "mapped-hex",
        "unspecified-v6",
        "unspecified",
        "zero",
        "metadata",
        "nat64-metadata",
        "userinfo-decoy",
        "ideographic-dots",
    ],
)
async def test_ip_literal_tricks_resolve_to_refused_addresses(url: str, network: str) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        await check_public_url(url)

    assert str(refused.value).endswith(f"is in the non-public network {network}")


async def test_localhost_is_refused() -> None:
    addresses = await resolve("localhost", 80)
    assert addresses, "localhost does not resolve here"

    with pytest.raises(UnsafeURLError, match="non-public network"):
        await check_public_url("http://localhost:8080/feed")


# ---- redirect hops, through a real Fetcher and the FeedServer ----


class RecordingConnections(PinnedConnections):
    """Real HTTP connections that record every request they are asked to send.

    They connect as usual, not to the pin: the stand-in public address is not the server's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @asynccontextmanager
    async def get(
        self,
        url: URL,
        *,
        addresses: Sequence[VettedAddress] | None,
        headers: Mapping[str, str],
        timeouts: aiohttp.ClientTimeout,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        self.urls.append(str(url))
        async with super().get(url, addresses=None, headers=headers, timeouts=timeouts) as response:
            yield response


async def server_is_public(host: str, port: int) -> list[IPAddress]:
    """Resolve for real, except that the FeedServer's 127.0.0.1 passes as public."""
    if host == "127.0.0.1":
        return [PUBLIC_STAND_IN]
    return await resolve(host, port)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        feed_server.set_feed("/feed.xml", rss([make_item(1)]))
        feed_server.set_feed("/secret", rss([make_item(2)]))
        yield feed_server


@pytest.fixture
def transport() -> RecordingConnections:
    return RecordingConnections()


@pytest.fixture
async def guarded(transport: RecordingConnections) -> AsyncIterator[Fetcher]:
    """A Fetcher that judges every hop, and believes the FeedServer is public."""
    fetcher = Fetcher(
        limits=LIMITS,
        url_check=functools.partial(check_public_url, resolver=server_is_public),
        connections=transport,
    )
    try:
        yield fetcher
    finally:
        await fetcher.aclose()


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            "refused: 169.254.169.254 resolves to 169.254.169.254 is in the non-public "
            "network 169.254.0.0/16",
        ),
        (
            "http://[64:ff9b::a9fe:a9fe]/",
            "refused: 64:ff9b::a9fe:a9fe resolves to 64:ff9b::a9fe:a9fe is in the "
            "non-public network 64:ff9b::/96",
        ),
        ("http://2130706433/", f"refused: 2130706433 resolves to 127.0.0.1 {LOOPBACK_REFUSED}"),
        # The same tricks aimed at the FeedServer's own port: had the hop been followed,
        # the server would have counted a request for /secret.
        (
            "http://2130706433:{port}/secret",
            f"refused: 2130706433 resolves to 127.0.0.1 {LOOPBACK_REFUSED}",
        ),
        (
            "http://0x7f000001:{port}/secret",
            f"refused: 0x7f000001 resolves to 127.0.0.1 {LOOPBACK_REFUSED}",
        ),
        ("http://127.1:{port}/secret", f"refused: 127.1 resolves to 127.0.0.1 {LOOPBACK_REFUSED}"),
        # The hop's URL is joined by yarl, which writes an IPv6 host in its shortest form.
        (
            "http://[::ffff:127.0.0.1]:{port}/secret",
            f"refused: ::ffff:7f00:1 resolves to 127.0.0.1 {LOOPBACK_REFUSED}",
        ),
        (
            "http://0.0.0.0:{port}/secret",
            "refused: 0.0.0.0 resolves to 0.0.0.0 is in the non-public network 0.0.0.0/8",
        ),
        ("http://localhost:{port}/secret", "refused: localhost resolves to "),
        # A name to the URL parser; the resolver reads the leading zero as octal.
        (
            "http://0177.0.0.1:{port}/secret",
            f"refused: 0177.0.0.1 resolves to 127.0.0.1 {LOOPBACK_REFUSED}",
        ),
    ],
    ids=[
        "metadata",
        "nat64-metadata",
        "decimal-loopback",
        "decimal-to-server",
        "hex-to-server",
        "short-to-server",
        "mapped-to-server",
        "unspecified-to-server",
        "localhost-to-server",
        "octal-to-server",
    ],
)
@pytest.mark.parametrize("status", [302, 301])
async def test_redirect_into_private_network_is_refused(
    server: FeedServer,
    guarded: Fetcher,
    transport: RecordingConnections,
    target: str,
    reason: str,
    status: int,
) -> None:
    server.set_fault("/feed.xml", redirect_to=target.format(port=server.port), status=status)

    result = await guarded.fetch(server.url("/feed.xml"))

    assert result.status is FetchStatus.ERROR
    assert result.error is not None and result.error.startswith(reason)
    assert result.body == b""
    assert transport.urls == [server.url("/feed.xml")]
    assert server.hits("/secret") == 0


async def test_redirect_to_an_allowed_host_is_followed(
    server: FeedServer, guarded: Fetcher, transport: RecordingConnections
) -> None:
    """The control for the test above: a hop the check allows does reach /secret."""
    server.set_fault("/feed.xml", redirect_to=server.url("/secret"))

    result = await guarded.fetch(server.url("/feed.xml"))

    assert result.status is FetchStatus.OK
    assert transport.urls == [server.url("/feed.xml"), server.url("/secret")]
    assert server.hits("/secret") == 1


async def test_trusted_fetch_skips_the_check(server: FeedServer) -> None:
    fetcher = Fetcher(limits=LIMITS, url_check=check_public_url)
    try:
        refused = await fetcher.fetch(server.url("/feed.xml"))
        trusted = await fetcher.fetch(server.url("/feed.xml"), trusted=True)
    finally:
        await fetcher.aclose()

    assert refused.status is FetchStatus.ERROR
    assert refused.error == f"refused: 127.0.0.1 resolves to 127.0.0.1 {LOOPBACK_REFUSED}"
    assert trusted.status is FetchStatus.OK
    assert server.hits("/feed.xml") == 1


# ---- operator feeds versus added feeds, through the Poller ----


@pytest.fixture(scope="module")
def parsers() -> Iterator[FeedParserPool]:
    pool = FeedParserPool(1)
    try:
        yield pool
    finally:
        pool.close()


async def test_poller_trusts_feed_urls_and_refuses_added_private_feeds(
    tmp_path: Path, server: FeedServer, parsers: FeedParserPool
) -> None:
    settings = load_settings({"BOT_TOKEN": TOKEN, "FEED_URLS": server.url("/feed.xml")})
    storage = await SqliteStorage.open(tmp_path / "newshound.sqlite3")
    # As the bot runs without ALLOW_PRIVATE_FEEDS: every untrusted hop is checked.
    fetcher = Fetcher(limits=LIMITS, url_check=check_public_url)
    try:
        await add_configured_feeds(settings, storage)
        # A feed added while its host still looked public: each poll checks it again.
        await storage.add_feed(server.url("/secret"), time.time(), trusted=False)
        poller = Poller(
            storage,
            fetcher,
            parsers,
            SubscriptionIndex(),
            interval=60.0,
            on_matches=lambda: None,
        )
        reports = {report.feed_id: report for report in await poller.poll_due()}
        operator, added = await storage.list_feeds()
    finally:
        await fetcher.aclose()
        await storage.close()

    assert (operator.url, operator.trusted, added.trusted) == (server.url("/feed.xml"), True, False)
    assert (reports[operator.id].status, reports[operator.id].new_stories) == ("ok", 1)
    assert (operator.failures, operator.last_error) == (0, None)
    assert reports[added.id].status == "error"
    assert added.failures == 1
    assert added.last_error == f"refused: 127.0.0.1 resolves to 127.0.0.1 {LOOPBACK_REFUSED}"
    assert (server.hits("/feed.xml"), server.hits("/secret")) == (1, 0)


# ---- /addfeed's discovery with a guarded Fetcher ----


async def test_discovery_refuses_a_private_feed_url(
    server: FeedServer, parsers: FeedParserPool
) -> None:
    fetcher = Fetcher(limits=LIMITS, url_check=check_public_url)
    try:
        with pytest.raises(FeedRejected) as rejected:
            await discover_feed(server.url("/feed.xml"), fetcher, parsers)
    finally:
        await fetcher.aclose()

    assert str(rejected.value) == (
        f"could not fetch {server.url('/feed.xml')}: "
        f"refused: 127.0.0.1 resolves to 127.0.0.1 {LOOPBACK_REFUSED}"
    )
    assert server.hits("/feed.xml") == 0


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        (
            "http://169.254.169.254/latest/feed.xml",
            "refused: 169.254.169.254 resolves to 169.254.169.254 is in the non-public "
            "network 169.254.0.0/16",
        ),
        (
            "http://2130706433:{port}/secret",
            f"refused: 2130706433 resolves to 127.0.0.1 {LOOPBACK_REFUSED}",
        ),
    ],
    ids=["metadata", "decimal-loopback-to-server"],
)
async def test_discovery_refuses_a_page_linking_into_a_private_network(
    server: FeedServer,
    guarded: Fetcher,
    transport: RecordingConnections,
    parsers: FeedParserPool,
    link: str,
    reason: str,
) -> None:
    feed_link = link.format(port=server.port)
    page = (
        '<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        f'href="{feed_link}"></head><body>News</body></html>'
    )
    server.set_feed("/page.html", page, content_type="text/html; charset=utf-8")

    with pytest.raises(FeedRejected) as rejected:
        await discover_feed(server.url("/page.html"), guarded, parsers)

    assert str(rejected.value) == f"could not fetch {feed_link}: {reason}"
    assert transport.urls == [server.url("/page.html")]
    assert server.hits("/secret") == 0
