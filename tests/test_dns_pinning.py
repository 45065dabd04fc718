"""DNS rebinding: a vetted feed is fetched from the address the guard judged, nowhere else.

The stage: the feed is served on 127.0.0.2, which a test-only guard accepts as "public"; a
trap server listens on 127.0.0.1 at the same port. The host name is `localhost`, which the
system resolver answers with 127.0.0.1: a client that looks the name up again to connect
(as aiohttp's default resolver does) lands on the trap. The guard's resolver answers 127.0.0.2 first
and 127.0.0.1 on any later lookup, like a rebinding DNS server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.ingest.fetch import Fetcher, FetchLimits, FetchStatus, UnsafeURLError
from bot.ingest.netguard import IPAddress, check_public_url
from bot.ingest.pinned_connector import PinnedConnections, PinnedResolver
from tests.hostserver import FEED_ADDRESS, TRAP_ADDRESS, Seen, staged

LIMITS = FetchLimits(connect_timeout=5.0, total_timeout=20.0, max_redirects=3)
VETTED = FEED_ADDRESS
TRAP = TRAP_ADDRESS
# Nothing listens here: a vetted address that does not answer.
DEAD = ipaddress.ip_address("127.0.0.3")
# The test-only policy: these loopback addresses stand in for public ones.
STAND_INS_FOR_PUBLIC = frozenset({VETTED, DEAD})
TLS_NAME = "feeds.test"

UrlCheck = Callable[[str], Awaitable[list[IPAddress]]]


# ---- the rebinding resolver and a guard with a test-only policy ----


class RebindingResolver:
    """Answer each host's first lookup with `first`, every later one with `later`."""

    def __init__(self, first: Iterable[IPAddress], later: Iterable[IPAddress]) -> None:
        self.first, self.later = list(first), list(later)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        seen_before = any(asked_host == host for asked_host, _ in self.asked)
        self.asked.append((host, port))
        return list(self.later if seen_before else self.first)


def guard(resolver: RebindingResolver) -> UrlCheck:
    """The SSRF guard's rule, except that STAND_INS_FOR_PUBLIC count as public."""

    async def check(url: str) -> list[IPAddress]:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        addresses = await resolver(parts.hostname, parts.port)
        for address in addresses:
            if address not in STAND_INS_FOR_PUBLIC:
                raise UnsafeURLError(f"{parts.hostname} resolves to {address}")
        return addresses

    return check


@contextlib.asynccontextmanager
async def open_fetcher(
    url_check: UrlCheck, connections: PinnedConnections | None = None
) -> AsyncIterator[Fetcher]:
    fetcher = Fetcher(limits=LIMITS, url_check=url_check, connections=connections)
    try:
        yield fetcher
    finally:
        await fetcher.aclose()


# ---- the connection goes to the vetted address ----


async def test_a_rebinding_host_is_fetched_from_the_vetted_address() -> None:
    resolver = RebindingResolver(first=[VETTED], later=[TRAP])
    async with staged() as stage, open_fetcher(guard(resolver)) as fetcher:
        result = await fetcher.fetch(stage.url("/feed.xml"))

    assert result.status is FetchStatus.OK, result.error
    assert b"Vetted feed" in result.body
    assert stage.trap.requests == []
    assert stage.vetted.requests == [Seen("/feed.xml", f"localhost:{stage.port}", 1)]
    # One lookup, the one that was judged: nothing resolves the name again to connect.
    assert resolver.asked == [("localhost", stage.port)]


async def test_every_redirect_hop_is_fetched_from_its_vetted_address() -> None:
    resolver = RebindingResolver(first=[VETTED], later=[TRAP])
    async with staged() as stage, open_fetcher(guard(resolver)) as fetcher:
        stage.vetted.redirects["/start"] = stage.url("/feed.xml")
        result = await fetcher.fetch(stage.url("/start", host=str(VETTED)))

    assert result.status is FetchStatus.OK, result.error
    assert result.url == stage.url("/feed.xml")
    assert stage.trap.requests == []
    assert [(seen.path, seen.host_header) for seen in stage.vetted.requests] == [
        ("/start", f"{VETTED}:{stage.port}"),
        ("/feed.xml", f"localhost:{stage.port}"),
    ]
    assert resolver.asked == [(str(VETTED), stage.port), ("localhost", stage.port)]


async def test_a_vetted_address_that_does_not_answer_gives_way_to_the_next() -> None:
    resolver = RebindingResolver(first=[DEAD, VETTED], later=[TRAP])
    async with staged() as stage, open_fetcher(guard(resolver)) as fetcher:
        result = await fetcher.fetch(stage.url("/feed.xml"))

    assert result.status is FetchStatus.OK, result.error
    assert (len(stage.vetted.requests), stage.trap.requests) == (1, [])


# ---- pooled connections ----


async def test_a_pooled_connection_is_not_reused_once_the_host_fails_vetting() -> None:
    resolver = RebindingResolver(first=[VETTED], later=[TRAP])
    async with staged() as stage, open_fetcher(guard(resolver)) as fetcher:
        first = await fetcher.fetch(stage.url("/feed.xml"))
        # The connection to 127.0.0.2 is now idle in the pool; the name now says 127.0.0.1.
        second = await fetcher.fetch(stage.url("/feed.xml"))

    assert first.status is FetchStatus.OK, first.error
    assert second.status is FetchStatus.ERROR
    assert second.error == "refused: localhost resolves to 127.0.0.1"
    assert (len(stage.vetted.requests), stage.trap.requests) == (1, [])


async def test_a_trusted_feeds_connection_never_serves_a_vetted_fetch() -> None:
    resolver = RebindingResolver(first=[VETTED], later=[VETTED])
    async with staged() as stage, open_fetcher(guard(resolver)) as fetcher:
        # A FEED_URLS feed is not judged: the system resolver sends it to 127.0.0.1.
        trusted = await fetcher.fetch(stage.url("/feed.xml"), trusted=True)
        vetted = await fetcher.fetch(stage.url("/feed.xml"))

    assert (trusted.status, vetted.status) == (FetchStatus.OK, FetchStatus.OK)
    assert b"Trap" in trusted.body
    assert b"Vetted feed" in vetted.body
    assert (len(stage.trap.requests), len(stage.vetted.requests)) == (1, 1)


async def test_without_a_pin_the_resolver_refuses_to_answer() -> None:
    with pytest.raises(OSError, match="no vetted address to connect to localhost:8080"):
        await PinnedResolver().resolve("localhost", 8080)


async def test_an_ip_literal_host_outside_its_pin_is_not_connected_to() -> None:
    # aiohttp never asks the resolver about a literal: the pin is checked before sending.
    async def vet_elsewhere(url: str) -> list[IPAddress]:
        return [DEAD]

    async with staged() as stage, open_fetcher(vet_elsewhere) as fetcher:
        result = await fetcher.fetch(stage.url("/feed.xml", host=str(TRAP)))

    assert result.status is FetchStatus.ERROR
    assert result.error == "connection failed: no vetted address to connect to 127.0.0.1"
    assert (stage.vetted.connections, stage.trap.connections) == (0, 0)


# ---- concurrent requests for one host each connect to their own pin ----


async def test_concurrent_fetches_of_one_host_keep_their_own_pins() -> None:
    pins = {"/vetted.xml": [VETTED], "/trap.xml": [TRAP]}
    both_vetted = asyncio.Barrier(2)

    async def pin_by_path(url: str) -> list[IPAddress]:
        # Both requests leave vetting together: their lookups (if shared) would overlap.
        await both_vetted.wait()
        return pins[urlsplit(url).path]

    async with staged() as stage, open_fetcher(pin_by_path) as fetcher:
        results = await asyncio.gather(
            fetcher.fetch(stage.url("/vetted.xml")), fetcher.fetch(stage.url("/trap.xml"))
        )

    assert [result.status for result in results] == [FetchStatus.OK, FetchStatus.OK]
    assert [seen.path for seen in stage.vetted.requests] == ["/vetted.xml"]
    assert [seen.path for seen in stage.trap.requests] == ["/trap.xml"]
    assert (stage.vetted.connections, stage.trap.connections) == (1, 1)


# ---- TLS: the host name, not the address, is sent as SNI and checked in the certificate ----


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for feeds.test, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-days", "2", "-keyout", str(key), "-out", str(cert)),
            *("-subj", f"/CN={TLS_NAME}", "-addext", f"subjectAltName=DNS:{TLS_NAME}"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize(
    ("host", "error"),
    [
        (TLS_NAME, None),
        # The control: the certificate is really checked against the URL's host name.
        ("other.test", "Hostname mismatch, certificate is not valid for 'other.test'"),
    ],
    ids=["matching-name", "other-name"],
)
async def test_https_to_a_pinned_address_keeps_the_host_name(
    certificate: tuple[Path, Path], host: str, error: str | None
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=cert)
    resolver = RebindingResolver(first=[VETTED], later=[TRAP])
    async with (
        staged(server_tls) as stage,
        open_fetcher(guard(resolver), PinnedConnections(ssl_context=client_tls)) as fetcher,
    ):
        result = await fetcher.fetch(stage.url("/feed.xml", host=host, scheme="https"))

    assert stage.vetted.sni_names == [host]
    assert stage.trap.connections == 0
    if error is None:
        assert result.status is FetchStatus.OK, result.error
        assert stage.vetted.requests == [Seen("/feed.xml", f"{host}:{stage.port}", 1)]
    else:
        assert result.status is FetchStatus.ERROR
        assert result.error is not None and error in result.error
        assert stage.vetted.requests == []


# ---- the real guard returns what it judged ----


async def test_check_public_url_returns_the_addresses_it_judged() -> None:
    public = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("2606:4700::1111")]
    resolver = RebindingResolver(first=public, later=[TRAP])

    vetted = await check_public_url("https://example.test/feed", resolver=resolver)

    assert vetted == public


async def test_check_public_url_refuses_a_name_without_addresses() -> None:
    resolver = RebindingResolver(first=[], later=[])

    with pytest.raises(UnsafeURLError, match=r"^cannot resolve example\.test: no addresses$"):
        await check_public_url("https://example.test/feed", resolver=resolver)
