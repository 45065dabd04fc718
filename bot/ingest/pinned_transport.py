"""Connect only to the addresses the SSRF guard vetted: no second DNS lookup to rebind.

The guard (bot/netguard.py) resolves a feed's host and judges every address. An HTTP client
left to itself then resolves the host again to connect, and a hostile DNS server can answer
that second lookup with 127.0.0.1 or the cloud metadata address (DNS rebinding). Here a
request carries the addresses that were vetted (`pin_to`), and its connection is made to
one of them. The URL keeps its host name, so the Host header is unchanged and TLS still
sends the name as SNI and checks the certificate against it (httpcore takes both from the
request's origin, never from the address connected to).

Vetted requests have a connection pool of their own, whose backend refuses to connect
without a pin: a connection opened for a trusted feed (resolved by the system, never
judged) is never handed to a vetted request for the same host. A pooled vetted connection
may serve a later request for its host, which the Fetcher has vetted again before sending.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import ssl
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

VettedAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The request extension that carries the vetted addresses, as strings, to PinnedTransport.
PINNED_ADDRESSES = "newshound.pinned_addresses"
DEFAULT_PORTS = {"http": 80, "https": 443}
# What httpx.AsyncClient gives its own default transport.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

log = logging.getLogger(__name__)


def pin_to(addresses: Sequence[VettedAddress] | None) -> dict[str, object]:
    """Return request extensions that let the request connect only to these addresses.

    None pins nothing: the request connects as usual (a trusted feed, or no guard at all).
    """
    if addresses is None:
        return {}
    return {PINNED_ADDRESSES: tuple(dict.fromkeys(str(address) for address in addresses))}


@dataclass(frozen=True)
class _Pin:
    """The addresses one request may connect to, for the origin it was vetted for."""

    host: str
    port: int
    addresses: tuple[str, ...]


# httpcore connects inside the task that sends the request, and network backends are not
# told which request a connection is for: the pin travels to connect_tcp in a context var.
_current_pin: ContextVar[_Pin | None] = ContextVar("newshound_current_pin", default=None)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Open TCP connections only to the current request's pinned addresses."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first pinned address that answers; without a pin, refuse."""
        pin = _current_pin.get()
        if pin is None or (pin.host, pin.port) != (host, port) or not pin.addresses:
            # Fail closed: resolving here would be exactly the unvetted lookup to avoid.
            raise httpcore.ConnectError(f"no vetted address to connect to {host}:{port}")
        connect = functools.partial(
            self._inner.connect_tcp,
            port=port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )
        *others, last = pin.addresses
        for address in others:
            try:
                return await connect(address)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                # As with several DNS answers: the next vetted address may answer.
                log.debug("Connecting to %s for %s:%d failed (%s)", address, host, port, error)
        return await connect(last)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refuse: a feed is fetched over TCP, never from a local socket."""
        raise httpcore.ConnectError(f"no vetted address to connect to {path}")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does (httpcore's retry back-off)."""
        await self._inner.sleep(seconds)


class _PinnedPoolTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request/response and exception mapping), on a pinned pool."""

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        # httpx 0.28 takes no network backend: its pool is replaced by one built the same
        # way, with the pinning backend. tests/test_dns_pinning.py fails if this is bypassed.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(),
        )


class PinnedTransport(httpx.AsyncBaseTransport):
    """Send pinned requests (see pin_to) to their vetted addresses, others as usual."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        # Like the client's own default transport: no proxy variables, no SSL_CERT_FILE.
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        self._usual = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False, limits=limits)
        self._pinned = _PinnedPoolTransport(ssl_context, limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Route the request by whether it carries vetted addresses."""
        addresses = request.extensions.get(PINNED_ADDRESSES)
        if addresses is None:
            return await self._usual.handle_async_request(request)
        url = request.url
        pin = _Pin(
            host=url.raw_host.decode("ascii"),
            port=url.port or DEFAULT_PORTS.get(url.scheme, 0),
            addresses=tuple(addresses),
        )
        token = _current_pin.set(pin)
        try:
            # The connection, if a new one is needed, is opened before this returns.
            return await self._pinned.handle_async_request(request)
        finally:
            _current_pin.reset(token)

    async def aclose(self) -> None:
        """Close both pools and their connections."""
        try:
            await self._pinned.aclose()
        finally:
            await self._usual.aclose()
