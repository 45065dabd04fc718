"""Serve feeds and HTTP faults on 127.0.0.1 from a background thread, for tests."""

from __future__ import annotations

import enum
import gzip as gzip_module
import hashlib
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self, TypedDict
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

RSS_CONTENT_TYPE = "application/rss+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DEFAULT_LINK = "http://example.com/"
BOMB_CHUNK = 1024 * 1024
# How often serve_forever looks for shutdown(); the stdlib's 0.5 s would slow every test.
POLL_INTERVAL = 0.02
# Clients that hang up mid-response (timeouts, size caps) are expected in these tests.
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Auto(enum.Enum):
    """Marker: let the server compute a header value from the feed."""

    AUTO = "auto"


AUTO = Auto.AUTO


@dataclass(frozen=True)
class _Feed:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    headers: dict[str, str]


@dataclass(frozen=True)
class Fault:
    """A misbehaviour to apply to one path instead of (or on top of) its feed."""

    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip_bytes_per_second: float | None = None
    gzip: bool = False
    omit_content_length: bool = False
    redirect_to: str | None = None
    truncate_at: int | None = None


class Item(TypedDict, total=False):
    """One feed item for rss() and atom(); every key is optional."""

    title: str
    link: str
    guid: str
    description: str
    content: str
    pub_date: datetime
    categories: list[str]


def make_item(
    n: int,
    *,
    base: str = DEFAULT_LINK,
    pub_date: datetime | None = None,
    content: str | None = None,
) -> Item:
    """Return a complete item numbered n, with a link under base."""
    item = Item(
        title=f"Story {n}",
        link=f"{base}story/{n}",
        guid=f"urn:newshound:test:{n}",
        description=f"Summary of story {n}",
        pub_date=pub_date or datetime(2024, 1, 1, 12, n % 60, tzinfo=UTC),
    )
    if content is not None:
        item["content"] = content
    return item


def _to_xml(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def rss(
    items: list[Item],
    *,
    title: str = "Test feed",
    link: str = DEFAULT_LINK,
    ttl: int | None = None,
    language: str | None = None,
) -> str:
    """Return an RSS 2.0 document; ElementTree does the XML escaping."""
    ET.register_namespace("content", CONTENT_NS)
    root = ET.Element("rss", version="2.0")
    channel = _sub(root, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", link)
    _sub(channel, "description", f"{title} for tests")
    if ttl is not None:
        _sub(channel, "ttl", str(ttl))
    if language is not None:
        _sub(channel, "language", language)
    for item in items:
        element = _sub(channel, "item")
        if "title" in item:
            _sub(element, "title", item["title"])
        if "link" in item:
            _sub(element, "link", item["link"])
        if "description" in item:
            _sub(element, "description", item["description"])
        if "guid" in item:
            _sub(element, "guid", item["guid"], isPermaLink="false")
        if "pub_date" in item:
            _sub(element, "pubDate", format_datetime(item["pub_date"].astimezone(UTC), True))
        if "content" in item:
            _sub(element, f"{{{CONTENT_NS}}}encoded", item["content"])
        for category in item.get("categories", []):
            _sub(element, "category", category)
    return _to_xml(root)


def atom(
    items: list[Item],
    *,
    title: str = "Test feed",
    link: str = DEFAULT_LINK,
    feed_id: str = "urn:newshound:test:feed",
) -> str:
    """Return an Atom 1.0 document; description becomes summary, content stays HTML."""
    ET.register_namespace("", ATOM_NS)

    def tag(name: str) -> str:
        return f"{{{ATOM_NS}}}{name}"

    root = ET.Element(tag("feed"))
    _sub(root, tag("title"), title)
    _sub(root, tag("id"), feed_id)
    _sub(root, tag("link"), href=link, rel="alternate")
    _sub(root, tag("updated"), datetime(2024, 1, 1, tzinfo=UTC).isoformat())
    for item in items:
        entry = _sub(root, tag("entry"))
        if "title" in item:
            _sub(entry, tag("title"), item["title"])
        if "link" in item:
            _sub(entry, tag("link"), href=item["link"], rel="alternate")
        if "guid" in item:
            _sub(entry, tag("id"), item["guid"])
        if "pub_date" in item:
            stamp = item["pub_date"].isoformat()
            _sub(entry, tag("published"), stamp)
            _sub(entry, tag("updated"), stamp)
        if "description" in item:
            _sub(entry, tag("summary"), item["description"])
        if "content" in item:
            _sub(entry, tag("content"), item["content"], type="html")
        for category in item.get("categories", []):
            _sub(entry, tag("category"), term=category)
    return _to_xml(root)


def gzip_bomb(decompressed_size: int) -> bytes:
    """Return gzip data of that many zero bytes, built without holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(BOMB_CHUNK)
    parts: list[bytes] = []
    remaining = decompressed_size
    while remaining > 0:
        parts.append(compressor.compress(zeros[: min(remaining, BOMB_CHUNK)]))
        remaining -= BOMB_CHUNK
    parts.append(compressor.flush())
    return b"".join(parts)


def _auto_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def _not_modified(feed: _Feed, request_headers: dict[str, str]) -> bool:
    # RFC 9110 13.2.2: If-None-Match, when present, decides alone.
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        return feed.etag is not None and feed.etag in {t.strip() for t in if_none_match.split(",")}
    since = request_headers.get("if-modified-since")
    if since is None or feed.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(feed.last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


class _RoomyServer(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops handshakes (1 s client stalls) when many feeds are
    # fetched at once; real feed hosts queue them.
    request_queue_size = 1024


class FeedServer:
    """A local HTTP server with per-path feeds, faults, hit counts (with their arrival times)
    and request headers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._feeds: dict[str, _Feed] = {}
        self._faults: dict[str, Fault] = {}
        self._hits: dict[str, int] = {}
        # path -> time.monotonic() of each request's arrival, in order (fetches(path)).
        self._fetch_times: dict[str, list[float]] = {}
        self._headers: dict[str, dict[str, str]] = {}
        # path -> (set when a request arrives, set to answer it)
        self._held: dict[str, tuple[threading.Event, threading.Event]] = {}
        self._in_flight = 0
        self._max_concurrent = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve from a daemon thread."""
        handler = type("BoundHandler", (_Handler,), {"feed_server": self})
        self._httpd = _RoomyServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(POLL_INTERVAL,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close the socket."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("FeedServer is not started")
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        """Return the absolute URL of path on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def set_feed(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = RSS_CONTENT_TYPE,
        etag: str | Auto | None = AUTO,
        last_modified: str | Auto | None = AUTO,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve body at path with validators (computed unless given; None omits one)."""
        data = body.encode() if isinstance(body, str) else body
        feed = _Feed(
            body=data,
            content_type=content_type,
            etag=_auto_etag(data) if etag is AUTO else etag,
            last_modified=format_datetime(datetime.now(UTC), True)
            if last_modified is AUTO
            else last_modified,
            headers=dict(headers or {}),
        )
        with self._lock:
            self._feeds[_normal(path)] = feed

    def set_fault(
        self,
        path: str,
        *,
        status: int | None = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        drip_bytes_per_second: float | None = None,
        gzip: bool = False,
        omit_content_length: bool = False,
        redirect_to: str | None = None,
        truncate_at: int | None = None,
    ) -> None:
        """Make path misbehave; redirect_to (URL or path) uses status, 302 by default."""
        fault = Fault(
            status=status,
            body=body.encode() if isinstance(body, str) else body,
            headers=dict(headers or {}),
            delay=delay,
            drip_bytes_per_second=drip_bytes_per_second,
            gzip=gzip,
            omit_content_length=omit_content_length,
            redirect_to=redirect_to,
            truncate_at=truncate_at,
        )
        with self._lock:
            self._faults[_normal(path)] = fault

    def clear_fault(self, path: str) -> None:
        """Serve path normally again."""
        with self._lock:
            self._faults.pop(_normal(path), None)

    def hold(self, path: str) -> threading.Event:
        """Make requests for path wait until release(path); return an event set on arrival."""
        arrived = threading.Event()
        with self._lock:
            self._held[_normal(path)] = (arrived, threading.Event())
        return arrived

    def release(self, path: str) -> None:
        """Answer the requests held for path, and later ones at once."""
        with self._lock:
            held = self._held.pop(_normal(path), None)
        if held is not None:
            held[1].set()

    def _wait_if_held(self, path: str) -> None:
        with self._lock:
            held = self._held.get(path)
        if held is None:
            return
        arrived, released = held
        arrived.set()
        while not released.wait(POLL_INTERVAL) and not self._stopping.is_set():
            pass

    def hits(self, path: str) -> int:
        """Return how many requests path has received."""
        with self._lock:
            return self._hits.get(_normal(path), 0)

    def fetches(self, path: str) -> list[float]:
        """Return when each request for path arrived (time.monotonic()), oldest first."""
        with self._lock:
            return list(self._fetch_times.get(_normal(path), []))

    def last_headers(self, path: str) -> dict[str, str]:
        """Return the lower-cased headers of the latest request for path (empty if none)."""
        with self._lock:
            return dict(self._headers.get(_normal(path), {}))

    @property
    def max_concurrent(self) -> int:
        """Return the most requests ever handled at the same time."""
        with self._lock:
            return self._max_concurrent

    def _begin(self, path: str, headers: dict[str, str]) -> tuple[_Feed | None, Fault | None]:
        with self._lock:
            self._hits[path] = self._hits.get(path, 0) + 1
            self._fetch_times.setdefault(path, []).append(time.monotonic())
            self._headers[path] = headers
            self._in_flight += 1
            self._max_concurrent = max(self._max_concurrent, self._in_flight)
            return self._feeds.get(path), self._faults.get(path)

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; return True if it is stopping."""
        return self._stopping.wait(seconds)


def _normal(path: str) -> str:
    return "/" + urlsplit(path).path.lstrip("/")


class _Handler(BaseHTTPRequestHandler):
    """Answer GET from the FeedServer's feeds and faults."""

    feed_server: FeedServer
    # HTTP/1.0: every response closes its connection, so a body without Content-Length
    # is delimited by the close, as the omit_content_length fault needs.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """Serve the path's feed, applying its fault if any."""
        path = _normal(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        feed, fault = self.feed_server._begin(path, headers)
        answering = False
        try:
            self.feed_server._wait_if_held(path)
            fault = fault or Fault()
            if fault.delay and self.feed_server._sleep(fault.delay):
                return
            # In flight until the answer starts, not until this thread has written it: the
            # client may read it and send its next request before this thread runs again, and
            # that request must not count as a third one at once (max_concurrent).
            answering = True
            self.feed_server._end()
            self._respond(feed, fault, headers)
        except _CLIENT_GONE:
            pass
        finally:
            if not answering:
                self.feed_server._end()

    def _respond(self, feed: _Feed | None, fault: Fault, request_headers: dict[str, str]) -> None:
        if fault.redirect_to is not None:
            self._redirect(fault)
            return
        if feed is not None and fault.status is None and _not_modified(feed, request_headers):
            self.send_response(304)
            self._send_validators(feed)
            self.end_headers()
            return
        self._send_body(feed, fault)

    def _redirect(self, fault: Fault) -> None:
        target = fault.redirect_to or "/"
        if target.startswith("/"):
            target = self.feed_server.url(target)
        self.send_response(fault.status or 302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self._send_extra(fault.headers)
        self.end_headers()

    def _send_validators(self, feed: _Feed) -> None:
        if feed.etag is not None:
            self.send_header("ETag", feed.etag)
        if feed.last_modified is not None:
            self.send_header("Last-Modified", feed.last_modified)

    def _send_extra(self, headers: dict[str, str]) -> None:
        for name, value in headers.items():
            self.send_header(name, value)

    def _send_body(self, feed: _Feed | None, fault: Fault) -> None:
        status = fault.status or (200 if feed is not None or fault.body is not None else 404)
        body = fault.body if fault.body is not None else feed.body if feed else b"not found"
        if fault.gzip:
            body = gzip_module.compress(body)
        self.send_response(status)
        if feed is not None:
            self.send_header("Content-Type", feed.content_type)
            self._send_validators(feed)
            self._send_extra(feed.headers)
        if fault.gzip:
            self.send_header("Content-Encoding", "gzip")
        if not fault.omit_content_length:
            self.send_header("Content-Length", str(len(body)))
        self._send_extra(fault.headers)
        self.end_headers()
        if fault.truncate_at is not None:
            body = body[: fault.truncate_at]
        self._write(body, fault.drip_bytes_per_second)

    def _write(self, body: bytes, bytes_per_second: float | None) -> None:
        if bytes_per_second is None:
            self.wfile.write(body)
            return
        step = max(1, int(bytes_per_second))
        for start in range(0, len(body), step):
            self.wfile.write(body[start : start + step])
            self.wfile.flush()
            if self.feed_server._sleep(step / bytes_per_second):
                return
