"""Fetch one feed over HTTP within strict limits, and parse its bytes into plain values."""

from __future__ import annotations

import asyncio
import enum
import functools
import multiprocessing
import os
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any, ParamSpec, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser
import httpx

from bot.charsets import repair_charset
from bot.pinned_transport import PinnedTransport, VettedAddress, pin_to

DEFAULT_USER_AGENT = "Newshound/0.1 (+https://github.com/newshound)"
# Feed types first; */* last so a server that only knows text/html still answers.
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
# Only encodings decompressed here with a bounded output size (see _BoundedDecoder).
ACCEPT_ENCODING = "gzip, deflate"
ALLOWED_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
# Memory bound for one parse; feeds list newest first, so the first entries are kept.
MAX_ENTRIES = 2_000
# How much of a non-feed document is sniffed to name what it looks like.
SNIFF_BYTES = 1_024
# The headers feedparser needs to decode the body. Content-Location is withheld on purpose:
# feedparser would resolve relative guids against it, so ids would change with the URL.
PARSER_HEADERS = ("content-type", "content-language")
FEED_LINK_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
DEFAULT_PARSER_WORKERS = 2
# What expat says when the input stops inside an element or a tag.
TRUNCATION_ERRORS = frozenset({"no element found", "unclosed token"})

_P = ParamSpec("_P")
_T = TypeVar("_T")


class UnsafeURLError(Exception):
    """Raised by a url_check to refuse fetching a URL (for example a private address)."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch: seconds, decompressed bytes and redirect hops."""

    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5


DEFAULT_LIMITS = FetchLimits()


class FetchStatus(enum.Enum):
    """How a fetch ended."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one fetch; on ERROR, `error` says why in a few words.

    On NOT_MODIFIED, `etag` and `last_modified` fall back to the values sent, so the caller
    can store them unconditionally. `moved_to` is set only for a successful fetch reached
    through permanent redirects alone.
    """

    status: FetchStatus
    url: str
    moved_to: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    max_age: float | None = None
    error: str | None = None
    http_status: int | None = None


class _FetchFailure(Exception):
    """Internal: abort a fetch with a short human-readable reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Conditional:
    """The validators of a conditional GET."""

    etag: str | None
    last_modified: str | None

    def headers(self) -> dict[str, str]:
        """Return If-None-Match / If-Modified-Since for the validators we have."""
        headers: dict[str, str] = {}
        # A validator with non-ASCII bytes cannot be sent back in a header; skip it.
        if self.etag and self.etag.isascii():
            headers["If-None-Match"] = self.etag
        if self.last_modified and self.last_modified.isascii():
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _describe_size(size: int) -> str:
    """Return a byte count as people say it: 5 MB, 64 KB, 1000 bytes."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return Retry-After as seconds from now; it is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; a zone-less one is read the same way.
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """Return the max-age directive of a Cache-Control header, in seconds."""
    if not cache_control:
        return None
    for directive in cache_control.split(","):
        name, _, argument = directive.strip().partition("=")
        if name.strip().lower() != "max-age":
            continue
        try:
            seconds = int(argument.strip().strip('"'))
        except ValueError:
            return None
        return float(seconds) if seconds >= 0 else None
    return None


class _BoundedDecoder:
    """Undo Content-Encoding while counting output, failing past the size cap.

    httpx's own decoders inflate a whole network chunk at once, so a 64 KB chunk of a gzip
    bomb could become ~64 MB before any size check; here zlib is told the most it may emit.
    """

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in {"gzip", "x-gzip", "deflate"}):
            raise _FetchFailure(f"unsupported Content-Encoding {content_encoding}")
        self._coding = codings[0] if codings else None
        self._max_bytes = max_bytes
        self._size = 0
        self._zlib = self._decompressor()
        self._started = False

    def _decompressor(self) -> Any:
        if self._coding is None:
            return None
        if self._coding == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS | 16)

    def feed(self, data: bytes) -> bytes:
        """Return the decoded bytes of one chunk; raise once the total passes the cap."""
        return self._count(data if self._zlib is None else self._inflate(data))

    def finish(self) -> bytes:
        """Return output zlib still holds once the body has ended."""
        return b"" if self._zlib is None else self._count(self._zlib.flush())

    def _count(self, output: bytes) -> bytes:
        self._size += len(output)
        if self._size > self._max_bytes:
            raise _FetchFailure(f"response larger than {_describe_size(self._max_bytes)}")
        return output

    def _inflate(self, data: bytes) -> bytes:
        # One byte more than the remaining allowance is enough to know the cap is passed.
        allowance = self._max_bytes - self._size + 1
        try:
            output: bytes = self._zlib.decompress(data, allowance)
        except zlib.error as exc:
            if self._coding != "deflate" or self._started:
                raise _FetchFailure(f"could not decompress response: {exc}") from exc
            # HTTP "deflate" means zlib-wrapped, but some servers send raw deflate: retry once.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
            return self._inflate(data)
        self._started = True
        return output


def _header_dict(response: httpx.Response) -> dict[str, str]:
    # httpx joins repeated headers with ", ", which is what the parsers here expect.
    return {name.lower(): value for name, value in response.headers.items()}


def _status_text(response: httpx.Response) -> str:
    reason = response.reason_phrase
    if not reason:
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = ""
    return f"HTTP {response.status_code} {reason}".strip()


def _describe_exception(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


class Fetcher:
    """Fetch feeds over one shared HTTP client, a few at a time, never raising for I/O."""

    def __init__(
        self,
        *,
        limits: FetchLimits = DEFAULT_LIMITS,
        concurrency: int = 10,
        user_agent: str = DEFAULT_USER_AGENT,
        url_check: Callable[[str], Awaitable[Sequence[VettedAddress]]] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # url_check vets a URL and returns the only addresses to fetch it from; the default
        # transport connects to those alone (a transport given instead must honour pin_to).
        self._limits = limits
        self._url_check = url_check
        self._slots = asyncio.Semaphore(concurrency)
        self._client = httpx.AsyncClient(
            transport=transport if transport is not None else PinnedTransport(),
            timeout=httpx.Timeout(limits.total_timeout, connect=limits.connect_timeout),
            # Redirects are followed by hand so every hop is counted and checked.
            follow_redirects=False,
            # Ignore proxy variables and ~/.netrc: credentials must never go to feed hosts,
            # and url_check must judge the address actually connected to.
            trust_env=False,
            headers={
                "User-Agent": user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )

    async def aclose(self) -> None:
        """Close the HTTP client and its connections."""
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        trusted: bool = False,
    ) -> FetchResult:
        """Fetch url with a conditional GET; network and HTTP problems become ERROR results.

        url_check vets every hop unless the feed is trusted (given by the operator).
        """
        async with self._slots:
            # The deadline starts once a slot is free: queueing is not the server's fault.
            trail: list[str] = []
            conditional = _Conditional(etag, last_modified)
            try:
                async with asyncio.timeout(self._limits.total_timeout):
                    return await self._follow(url, conditional, trail, trusted=trusted)
            except TimeoutError:
                reason = f"timed out after {self._limits.total_timeout:g} s"
            except httpx.ConnectTimeout:
                reason = f"connection timed out after {self._limits.connect_timeout:g} s"
            except httpx.TimeoutException:
                reason = f"timed out after {self._limits.total_timeout:g} s"
            except _FetchFailure as failure:
                reason = failure.reason
            except httpx.InvalidURL as exc:
                reason = f"invalid URL: {_describe_exception(exc)}"
            except httpx.TransportError as exc:
                reason = f"connection failed: {_describe_exception(exc)}"
            return FetchResult(
                status=FetchStatus.ERROR, url=trail[-1] if trail else url, error=reason
            )

    async def _follow(
        self, url: str, conditional: _Conditional, trail: list[str], *, trusted: bool
    ) -> FetchResult:
        all_permanent = True
        for _ in range(self._limits.max_redirects + 1):
            trail.append(url)
            vetted = await self._vet(url, redirected=len(trail) > 1, trusted=trusted)
            request_headers = conditional.headers()
            async with self._client.stream(
                "GET", url, headers=request_headers, extensions=pin_to(vetted)
            ) as response:
                location = response.headers.get("location")
                if response.status_code not in REDIRECT_STATUSES:
                    moved_to = url if len(trail) > 1 and all_permanent else None
                    return await self._finish(response, conditional, moved_to)
            if not location:
                raise _FetchFailure(f"{_status_text(response)} without a Location header")
            all_permanent = all_permanent and response.status_code in PERMANENT_REDIRECT_STATUSES
            url = str(response.url.join(location))
        raise _FetchFailure("too many redirects")

    async def _vet(
        self, url: str, *, redirected: bool, trusted: bool
    ) -> Sequence[VettedAddress] | None:
        scheme = httpx.URL(url).scheme
        if scheme not in ALLOWED_SCHEMES:
            shown = scheme or "(none)"
            raise _FetchFailure(
                f"redirect to unsupported scheme {shown}"
                if redirected
                else f"unsupported scheme {shown}"
            )
        if self._url_check is None or trusted:
            return None
        try:
            return await self._url_check(url)
        except UnsafeURLError as exc:
            raise _FetchFailure(f"refused: {_describe_exception(exc)}") from exc

    async def _finish(
        self, response: httpx.Response, conditional: _Conditional, moved_to: str | None
    ) -> FetchResult:
        headers = _header_dict(response)
        code = response.status_code
        result = FetchResult(
            status=FetchStatus.OK,
            url=str(response.url),
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            retry_after=parse_retry_after(headers.get("retry-after"), datetime.now(UTC)),
            max_age=parse_max_age(headers.get("cache-control")),
            http_status=code,
        )
        if code == HTTPStatus.NOT_MODIFIED:
            return replace(
                result,
                status=FetchStatus.NOT_MODIFIED,
                moved_to=moved_to,
                etag=result.etag or conditional.etag,
                last_modified=result.last_modified or conditional.last_modified,
            )
        if not 200 <= code < 300:
            return replace(result, status=FetchStatus.ERROR, error=_status_text(response))
        body = await self._read_body(response, headers)
        return replace(result, moved_to=moved_to, body=body)

    async def _read_body(self, response: httpx.Response, headers: Mapping[str, str]) -> bytes:
        cap = self._limits.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            # Refuse before reading: the encoded size already exceeds the decoded cap.
            raise _FetchFailure(f"response larger than {_describe_size(cap)}")
        decoder = _BoundedDecoder(headers.get("content-encoding", ""), cap)
        chunks = [decoder.feed(chunk) async for chunk in response.aiter_raw()]
        chunks.append(decoder.finish())
        return b"".join(chunks)


# ---- parsing (runs in a worker process: plain, picklable values only) ----


@dataclass(frozen=True)
class ParsedEntry:
    """One feed entry as given by the feed; `bodies` holds raw HTML, fullest first."""

    guid: str | None
    link: str | None
    title: str
    published: datetime | None
    bodies: tuple[str, ...]


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed, or `error` with no entries; `bozo` notes a recovered defect.

    `skipped_entries` counts entries dropped over MAX_ENTRIES or because they were unreadable.
    """

    title: str
    link: str | None
    ttl_minutes: int | None
    entries: tuple[ParsedEntry, ...]
    error: str | None
    bozo: str | None
    skipped_entries: int = 0


def _failed_parse(error: str, bozo: str | None = None) -> ParsedFeed:
    return ParsedFeed(title="", link=None, ttl_minutes=None, entries=(), error=error, bozo=bozo)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _field(mapping: object, key: str) -> object:
    # dict.get skips FeedParserDict's fallbacks (updated -> published), which warn.
    return dict.get(mapping, key) if isinstance(mapping, dict) else None


def _utc_datetime(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _join(base: str | None, link: str) -> str:
    """Return link resolved against base; a link urllib cannot parse is kept as given."""
    if not base:
        return link
    try:
        return urljoin(base, link)
    except ValueError:  # "http://[bad" and the like, from untrusted feeds and pages
        return link


def _absolute_link(link: str, base: str | None) -> str | None:
    if not link:
        return None
    # An absolute link is kept byte for byte: it is part of the story's identity.
    return link if _scheme(link) else _join(base, link)


def _bodies(raw: object) -> tuple[str, ...]:
    values: list[str] = []
    summary = _text(_field(raw, "summary"))
    content = _field(raw, "content")
    if isinstance(content, list):
        values.extend(
            _text(_field(part, "value"))
            for part in content
            # feedparser files media:description (a photo caption) as text/plain content;
            # next to a real summary it is not the story's text.
            if not (summary and _field(part, "type") == "text/plain")
        )
    values.append(summary)
    # Atom content is often repeated as the summary; keep each text once, in order.
    return tuple(dict.fromkeys(value for value in values if value))


def _entry(raw: object, base: str | None) -> ParsedEntry:
    published = _field(raw, "published_parsed") or _field(raw, "updated_parsed")
    return ParsedEntry(
        guid=_text(_field(raw, "id")) or None,
        link=_absolute_link(_text(_field(raw, "link")), base),
        title=_text(_field(raw, "title")),
        published=_utc_datetime(published),
        bodies=_bodies(raw),
    )


def _ttl_minutes(value: object) -> int | None:
    try:
        minutes = int(_text(value))
    except ValueError:
        return None
    return minutes if minutes > 0 else None


def _describe_bozo(exc: object) -> str:
    if isinstance(exc, SAXParseException):
        line, column = exc.getLineNumber(), exc.getColumnNumber()
        return f"XML error at line {line}, column {column}: {exc.getMessage()}"
    if isinstance(exc, Exception):
        return _describe_exception(exc)
    return "malformed feed"


def _not_a_feed_reason(body: bytes, headers: Mapping[str, str], bozo_exception: object) -> str:
    head = body[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        if b"jsonfeed.org" in head:
            return "not a feed (JSON Feed is not supported)"
        return "not a feed (looks like JSON)"
    if b"<html" in head or b"<!doctype html" in head or "html" in headers.get("content-type", ""):
        return "not a feed (looks like HTML)"
    if isinstance(bozo_exception, SAXParseException):
        return f"not a feed ({_describe_bozo(bozo_exception)})"
    return "not a feed (no RSS, Atom or RDF root element)"


def _cut_inside_last_entry(exc: object, body: bytes) -> bool:
    """Tell whether the input stopped inside an item or entry that was never closed."""
    if not (isinstance(exc, SAXParseException) and exc.getMessage() in TRUNCATION_ERRORS):
        return False
    lowered = body.lower()
    opened = max(lowered.rfind(b"<item"), lowered.rfind(b"<entry"))
    closed = max(lowered.rfind(b"</item"), lowered.rfind(b"</entry"))
    return opened > closed


def _no_entries_error(parsed: Any, body: bytes, headers: Mapping[str, str]) -> str | None:
    version = parsed.get("version")
    if version is None:
        # feedparser sets no version at all only for a document without content.
        return "empty document"
    if not version:
        return _not_a_feed_reason(body, headers, parsed.get("bozo_exception"))
    if parsed.get("bozo"):
        return f"malformed feed, no entries: {_describe_bozo(parsed.get('bozo_exception'))}"
    # A well-formed feed with no items yet (a new blog) is not an error.
    return None


def parse_feed(body: bytes, headers: Mapping[str, str], *, url: str | None = None) -> ParsedFeed:
    """Parse feed bytes; relative links resolve against the feed's link, made absolute by url."""
    if not body.strip():
        return _failed_parse("empty document")
    lowered = {name.lower(): value for name, value in headers.items()}
    response_headers = {name: lowered[name] for name in PARSER_HEADERS if name in lowered}
    body, response_headers = repair_charset(body, response_headers)
    try:
        parsed = feedparser.parse(
            body,
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # a parser bug must cost one feed, not the poll cycle
        return _failed_parse(f"parser failed: {type(exc).__name__}: {_describe_exception(exc)}")
    return _feed_from(parsed, body, response_headers, url)


def _feed_from(parsed: Any, body: bytes, headers: Mapping[str, str], url: str | None) -> ParsedFeed:
    bozo = _describe_bozo(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    raw_entries = list(parsed.get("entries") or ())
    if not raw_entries:
        error = _no_entries_error(parsed, body, headers)
        if error is not None:
            return _failed_parse(error, bozo)
    if raw_entries and _cut_inside_last_entry(parsed.get("bozo_exception"), body):
        # The document was cut (a dropped connection without Content-Length) inside its
        # last entry: keep the whole ones; the rest comes with the next poll.
        raw_entries = raw_entries[:-1]
        if not raw_entries:
            return _failed_parse(f"malformed feed, no entries: {bozo}", bozo)
    feed = parsed.get("feed") or {}
    link = _text(_field(feed, "link")) or None
    base = _join(url, link) if link else url
    entries: list[ParsedEntry] = []
    for raw in raw_entries[:MAX_ENTRIES]:
        try:
            entries.append(_entry(raw, base))
        except Exception:  # one odd entry must not lose the rest of the feed
            continue
    return ParsedFeed(
        title=_text(_field(feed, "title")),
        link=_absolute_link(link or "", url),
        ttl_minutes=_ttl_minutes(_field(feed, "ttl")),
        entries=tuple(entries),
        error=None,
        bozo=bozo,
        skipped_entries=len(raw_entries) - len(entries),
    )


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
    base = _join(base_url, parser.base) if parser.base else base_url
    links = (_join(base, href) for href in parser.hrefs)
    return list(dict.fromkeys(link for link in links if _scheme(link) in ALLOWED_SCHEMES))


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


class ParserDiedError(Exception):
    """A worker process died mid-parse (the pool has been replaced)."""


class ParseFunction(Protocol):
    """The shape of parse_feed, so a pool can run another top-level parser (tests do)."""

    def __call__(
        self, body: bytes, headers: Mapping[str, str], *, url: str | None = None
    ) -> ParsedFeed: ...


def exit_with_parent() -> None:
    """Make a parser process exit as soon as the bot process is gone (it may be SIGKILLed).

    A pool worker otherwise waits forever on its task queue, keeping the forkserver and the
    resource tracker alive with it: every crash of the bot would leak processes.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's end of the sentinel pipe closes
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class FeedParserPool:
    """Run parse_feed in worker processes so a long parse never stalls the event loop."""

    def __init__(
        self,
        max_workers: int = DEFAULT_PARSER_WORKERS,
        *,
        parse_function: ParseFunction = parse_feed,
    ) -> None:
        self._max_workers = max_workers
        self._parse_function = parse_function
        # forkserver: workers fork from a small single-threaded server, not from the bot,
        # whose threads (aiosqlite, the job queue, httpx) may hold locks that a plain fork
        # would copy into the child locked forever. Each worker is still a cheap fork, not
        # spawn's fresh interpreter; like spawn, it imports the parent's __main__ (as
        # __mp_main__), so the entry point must do its work under `if __name__ == ...`.
        self._context = multiprocessing.get_context("forkserver")
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._max_workers, mp_context=self._context, initializer=exit_with_parent
        )

    async def run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run a top-level function in a worker; raise ParserDiedError if the worker died."""
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return await loop.run_in_executor(
                executor, functools.partial(function, *args, **kwargs)
            )
        except BrokenProcessPool:
            self._replace(executor)
            raise ParserDiedError("parser process died") from None

    async def parse(
        self, body: bytes, headers: Mapping[str, str], *, url: str | None = None
    ) -> ParsedFeed:
        """Parse in a worker; a worker that dies yields an error result and a fresh pool."""
        try:
            return await self.run(self._parse_function, body, dict(headers), url=url)
        except ParserDiedError as error:
            return _failed_parse(str(error))

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        # Several parses fail together when a pool breaks; only the first replaces it.
        if self._executor is broken:
            self._executor = self._new_executor()
            broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers, dropping parses not yet started."""
        self._executor.shutdown(wait=True, cancel_futures=True)
