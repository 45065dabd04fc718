"""Connect only to the addresses the SSRF guard vetted: no second DNS lookup to rebind.

The guard (bot/ingest/netguard.py) resolves a feed's host and judges every address. An HTTP
client left to itself then resolves the host again to connect, and a hostile DNS server can
answer that second lookup with 127.0.0.1 or the cloud metadata address (DNS rebinding). Here
a request carries the addresses that were vetted, and its connection is made to one of them:
the pinned session's resolver (PinnedResolver) answers with the current request's pin and
nothing else. The URL keeps its host name, so the Host header is unchanged and TLS still
sends the name as SNI and checks the certificate against it (aiohttp takes both from the
URL, never from the address connected to).

The pin travels in a context var, set around the request: aiohttp resolves inside the task
that sends the request and, with its DNS cache off (`use_dns_cache=False`), never shares a
lookup in flight between two requests for the same host (its throttle lives in the cache
path). An IP-literal host is never given to a resolver, so it must itself be in the pin.

Vetted requests have a session and connection pool of their own, whose resolver refuses to
answer without a pin: a connection opened for a trusted feed (resolved by the system, never
judged) is never handed to a vetted request for the same host. A pooled vetted connection
may serve a later request for its host, which the Fetcher has vetted again before sending.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

VettedAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Header lines longer than aiohttp's 8 KB default (large Content-Security-Policy or cookie
# headers) are still read, as the previous client (h11) allowed.
MAX_HEADER_LINE = 16 * 1024


@dataclass(frozen=True)
class _Pin:
    """The addresses one request may connect to, for the origin it was vetted for."""

    host: str
    port: int | None
    addresses: tuple[VettedAddress, ...]


_current_pin: ContextVar[_Pin | None] = ContextVar("newshound_current_pin", default=None)


class PinnedResolver(AbstractResolver):
    """Answer only with the current request's pinned addresses; without a pin, refuse."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        """Return the pin for host:port, in the guard's order (the connector tries each)."""
        pin = _current_pin.get()
        if pin is None or (pin.host, pin.port) != (host, port) or not pin.addresses:
            # Fail closed: resolving here would be exactly the unvetted lookup to avoid.
            raise OSError(f"no vetted address to connect to {host}:{port}")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in pin.addresses
        ]

    async def close(self) -> None:
        """Nothing to release: no lookups are made."""


def _pin_for(url: URL, addresses: Sequence[VettedAddress]) -> _Pin:
    pin = _Pin(url.raw_host or "", url.port, tuple(dict.fromkeys(addresses)))
    try:
        literal = ipaddress.ip_address(pin.host)
    except ValueError:
        return pin
    # aiohttp connects to a literal host without asking the resolver: it must be pinned.
    if literal not in pin.addresses:
        raise aiohttp.ClientConnectionError(f"no vetted address to connect to {url.host}")
    return pin


def default_ssl_context() -> ssl.SSLContext:
    """Verify certificates against certifi's roots, ignoring SSL_CERT_FILE and friends."""
    return ssl.create_default_context(cafile=certifi.where())


class PinnedConnections:
    """Send vetted requests to their pinned addresses only, other requests as usual.

    Two sessions, each with its own pool; both are opened at the first request (aiohttp
    wants a running event loop), never decompress (the Fetcher bounds the decoded size)
    and ignore proxy variables and ~/.netrc (`trust_env=False`).
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        # Loading the roots takes ~20 ms of CPU: here, as the bot starts, not on the event
        # loop at the first fetch of a poll cycle, while people wait for answers.
        self._ssl = ssl_context or default_ssl_context()
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _session(self, pinned: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(pinned)
        if session is None:
            # limit=0: the Fetcher's own slots cap how many requests are in flight.
            connector = (
                aiohttp.TCPConnector(
                    resolver=PinnedResolver(), use_dns_cache=False, limit=0, ssl=self._ssl
                )
                if pinned
                else aiohttp.TCPConnector(limit=0, ssl=self._ssl)
            )
            session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                trust_env=False,
                max_line_size=MAX_HEADER_LINE,
                max_field_size=MAX_HEADER_LINE,
            )
            self._sessions[pinned] = session
        return session

    @asynccontextmanager
    async def get(
        self,
        url: URL,
        *,
        addresses: Sequence[VettedAddress] | None,
        headers: Mapping[str, str],
        timeouts: aiohttp.ClientTimeout,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET url without following redirects; addresses None connects as usual."""
        if addresses is None:
            request = self._session(False).get(
                url, headers=headers, timeout=timeouts, allow_redirects=False
            )
            async with request as response:
                yield response
            return
        token = _current_pin.set(_pin_for(url, addresses))
        try:
            # The connection, if a new one is needed, is opened before the response returns.
            response = await self._session(True).get(
                url, headers=headers, timeout=timeouts, allow_redirects=False
            )
        finally:
            _current_pin.reset(token)
        async with response:
            yield response

    async def aclose(self) -> None:
        """Close both sessions and their connections."""
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
