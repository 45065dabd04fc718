"""A keep-alive HTTP/1.1 server on one loopback address that records what reached it.

For the DNS-pinning tests: unlike FeedServer (HTTP/1.0, 127.0.0.1 only), it keeps
connections open, so pooled connections can be reused, listens on any address and port,
speaks TLS and records the SNI names. `staged` starts the feed's server on 127.0.0.2 and a
trap on 127.0.0.1 at the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tests.feedserver import make_item, rss

FEED_ADDRESS = ipaddress.ip_address("127.0.0.2")
# What the system resolver answers for localhost.
TRAP_ADDRESS = ipaddress.ip_address("127.0.0.1")


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    path: str
    host_header: str
    connection: int


@dataclass
class HostServer:
    """Serve a feed titled `name` on one address, keeping connections open (HTTP/1.1).

    Records every request, how many connections were accepted and, with TLS, the SNI names.
    `redirects` maps a path to the Location it answers with (302).
    """

    name: str
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    sni_names: list[str | None] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _idle: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> int:
        """Listen on host:port (0: any free port) and return the port."""
        if tls is not None:
            tls.sni_callback = lambda _ssl, name, _context: self.sni_names.append(name)
        self._server = await asyncio.start_server(self._serve, host, port, ssl=tls)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, close open connections and wait for their handlers to end."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in list(self._writers):
            writer.close()
        async with self._idle:
            await asyncio.wait_for(self._idle.wait_for(lambda: not self._writers), 30)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        self._writers.add(writer)
        try:
            while await self._answer(reader, writer, connection):
                pass
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # the client hung up, or refused the certificate
        finally:
            self._writers.discard(writer)
            writer.close()
            async with self._idle:
                self._idle.notify_all()

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
    ) -> bool:
        request_line = await reader.readline()
        if not request_line:
            return False
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        path = request_line.split()[1].decode("ascii")
        self.requests.append(Seen(path, headers.get("host", ""), connection))
        if path in self.redirects:
            head = f"HTTP/1.1 302 Found\r\nLocation: {self.redirects[path]}\r\n"
            body = b""
        else:
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
            body = rss([make_item(1)], title=self.name).encode()
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        return True


@dataclass
class Stage:
    """The feed's server on 127.0.0.2 and the trap on 127.0.0.1, on the same port."""

    vetted: HostServer
    trap: HostServer
    port: int

    def url(self, path: str, host: str = "localhost", scheme: str = "http") -> str:
        """Return the URL of path on the shared port, under any host name."""
        return f"{scheme}://{host}:{self.port}{path}"


@contextlib.asynccontextmanager
async def staged(tls: ssl.SSLContext | None = None) -> AsyncIterator[Stage]:
    """Start the two servers on one port of 127.0.0.2 and 127.0.0.1."""
    for _ in range(20):
        vetted, trap = HostServer("Vetted feed"), HostServer("Trap")
        try:
            port = await vetted.start(str(FEED_ADDRESS), 0, tls)
        except OSError as error:
            pytest.skip(f"cannot listen on {FEED_ADDRESS} here: {error}")
        try:
            await trap.start(str(TRAP_ADDRESS), port)
        except OSError:  # that port is taken on 127.0.0.1: try another
            await vetted.stop()
            continue
        try:
            yield Stage(vetted, trap, port)
        finally:
            await vetted.stop()
            await trap.stop()
        return
    pytest.fail("found no port free on both 127.0.0.1 and 127.0.0.2")
