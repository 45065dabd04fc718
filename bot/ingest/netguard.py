"""Refuse feed URLs that point into private networks (SSRF), judged on resolved addresses.

check_public_url returns the addresses it judged; the Fetcher connects to those alone
(bot/ingest/pinned_connector.py), so a second DNS answer can never be the one connected to.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from bot.ingest.fetch import UnsafeURLError

ALLOWED_SCHEMES = frozenset({"http", "https"})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# An explicit deny-list: ipaddress's is_global/is_private flags have gaps (NAT64 of the
# metadata address and multicast count as global; 100.64.0.0/10 is neither).
DENIED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/128",
        "::1/128",
        "::/96",  # deprecated IPv4-compatible: ::127.0.0.1 embeds an IPv4 address
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT), like NAT64
        "64:ff9b::/96",  # NAT64: 64:ff9b::a9fe:a9fe is the metadata address
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/32",  # Teredo
        "2001:db8::/32",
        "2002::/16",  # 6to4 wraps IPv4 addresses
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",
        "ff00::/8",  # multicast
    )
)


def denied_reason(address: IPAddress) -> str | None:
    """Return why an address must not be fetched, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return denied_reason(address.ipv4_mapped)
    for network in DENIED_NETWORKS:
        if address.version == network.version and address in network:
            return f"{address} is in the non-public network {network}"
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Resolve a host name the way the HTTP client will (getaddrinfo)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def check_public_url(url: str, resolver: Resolver = resolve) -> list[IPAddress]:
    """Return the host's addresses if url is http(s) to only public ones, else raise.

    Raises UnsafeURLError; the addresses returned are the only ones to connect to.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURLError(f"invalid URL: {error}") from None
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"only http and https URLs are allowed, not {parts.scheme or '?'}")
    if not parts.hostname:
        raise UnsafeURLError("the URL has no host")
    default_port = 443 if parts.scheme == "https" else 80
    try:
        addresses = await resolver(parts.hostname, port or default_port)
    except (OSError, UnicodeError) as error:
        raise UnsafeURLError(f"cannot resolve {parts.hostname}: {error}") from None
    if not addresses:
        raise UnsafeURLError(f"cannot resolve {parts.hostname}: no addresses")
    for address in addresses:
        reason = denied_reason(address)
        if reason:
            raise UnsafeURLError(f"{parts.hostname} resolves to {reason}")
    return addresses
