"""Fetch one feed over HTTP within strict limits: redirects checked hop by hop, conditional GET."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus

import aiohttp
from yarl import URL

from bot.ingest.pinned_connector import PinnedConnections, VettedAddress
from bot.ingest.response import (
    BoundedDecoder,
    FetchFailure,
    describe_exception,
    describe_size,
    parse_max_age,
    parse_retry_after,
)

DEFAULT_USER_AGENT = "Newshound/0.1 (+https://github.com/newshound)"
# Feed types first; */* last so a server that only knows text/html still answers.
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
# Only encodings decompressed here with a bounded output size (see BoundedDecoder).
ACCEPT_ENCODING = "gzip, deflate"
ALLOWED_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})


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


def _header_dict(response: aiohttp.ClientResponse) -> dict[str, str]:
    # Repeated headers are joined with ", " (RFC 9110), which is what the parsers here expect.
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _status_text(response: aiohttp.ClientResponse) -> str:
    reason = response.reason
    if not reason:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {response.status} {reason}".strip()


def _describe_failure(exc: Exception) -> str:
    if isinstance(exc, aiohttp.ClientPayloadError) and exc.args and "not completed" in exc.args[0]:
        # aiohttp's text nests its parser's error in a repr; a body cut short, said plainly.
        return "peer closed connection without sending complete message body"
    return describe_exception(exc)


def _parse_url(text: str) -> URL:
    try:
        return URL(text)
    except (TypeError, ValueError) as exc:
        raise FetchFailure(f"invalid URL: {describe_exception(exc)}") from exc


class Fetcher:
    """Fetch feeds over one shared HTTP client, a few at a time, never raising for I/O."""

    def __init__(
        self,
        *,
        limits: FetchLimits = DEFAULT_LIMITS,
        concurrency: int = 10,
        user_agent: str = DEFAULT_USER_AGENT,
        url_check: Callable[[str], Awaitable[Sequence[VettedAddress]]] | None = None,
        connections: PinnedConnections | None = None,
    ) -> None:
        # url_check vets a URL and returns the only addresses to fetch it from; connections
        # connect to those alone (ones given instead, in tests, must honour them too).
        self._limits = limits
        self._url_check = url_check
        self._slots = asyncio.Semaphore(concurrency)
        # No proxy variables or ~/.netrc (see PinnedConnections): credentials must never go
        # to feed hosts, and url_check must judge the address actually connected to.
        self._connections = connections if connections is not None else PinnedConnections()
        self._headers = {
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        # The total timeout is the fetch's own (asyncio.timeout), across every hop.
        self._timeouts = aiohttp.ClientTimeout(total=None, sock_connect=limits.connect_timeout)

    async def aclose(self) -> None:
        """Close the HTTP sessions and their connections."""
        await self._connections.aclose()

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
            except aiohttp.ConnectionTimeoutError:
                # Before TimeoutError, which it subclasses.
                reason = f"connection timed out after {self._limits.connect_timeout:g} s"
            except TimeoutError:
                reason = f"timed out after {self._limits.total_timeout:g} s"
            except FetchFailure as failure:
                reason = failure.reason
            except aiohttp.InvalidURL as exc:
                reason = f"invalid URL: {describe_exception(exc)}"
            except (aiohttp.ClientError, OSError) as exc:
                reason = f"connection failed: {_describe_failure(exc)}"
            return FetchResult(
                status=FetchStatus.ERROR, url=trail[-1] if trail else url, error=reason
            )

    async def _follow(
        self, url: str, conditional: _Conditional, trail: list[str], *, trusted: bool
    ) -> FetchResult:
        # Redirects are followed here, by hand, so every hop is counted and checked.
        all_permanent = True
        for _ in range(self._limits.max_redirects + 1):
            trail.append(url)
            parsed = _parse_url(url)
            vetted = await self._vet(url, parsed.scheme, redirected=len(trail) > 1, trusted=trusted)
            headers = self._headers | conditional.headers()
            async with self._connections.get(
                parsed, addresses=vetted, headers=headers, timeouts=self._timeouts
            ) as response:
                location = response.headers.get("location")
                if response.status not in REDIRECT_STATUSES:
                    moved_to = url if len(trail) > 1 and all_permanent else None
                    return await self._finish(response, conditional, moved_to)
            if not location:
                raise FetchFailure(f"{_status_text(response)} without a Location header")
            all_permanent = all_permanent and response.status in PERMANENT_REDIRECT_STATUSES
            url = str(response.url.join(_parse_url(location)))
        raise FetchFailure("too many redirects")

    async def _vet(
        self, url: str, scheme: str, *, redirected: bool, trusted: bool
    ) -> Sequence[VettedAddress] | None:
        if scheme not in ALLOWED_SCHEMES:
            shown = scheme or "(none)"
            raise FetchFailure(
                f"redirect to unsupported scheme {shown}"
                if redirected
                else f"unsupported scheme {shown}"
            )
        if self._url_check is None or trusted:
            return None
        try:
            # The URL as written: the refusal names the host as the feed spells it.
            return await self._url_check(url)
        except UnsafeURLError as exc:
            raise FetchFailure(f"refused: {describe_exception(exc)}") from exc

    async def _finish(
        self, response: aiohttp.ClientResponse, conditional: _Conditional, moved_to: str | None
    ) -> FetchResult:
        headers = _header_dict(response)
        code = response.status
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

    async def _read_body(
        self, response: aiohttp.ClientResponse, headers: Mapping[str, str]
    ) -> bytes:
        cap = self._limits.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            # Refuse before reading: the encoded size already exceeds the decoded cap.
            raise FetchFailure(f"response larger than {describe_size(cap)}")
        decoder = BoundedDecoder(headers.get("content-encoding", ""), cap)
        # Raw bytes as they arrive: the session never decompresses (auto_decompress=False).
        chunks = [decoder.feed(chunk) async for chunk in response.content.iter_any()]
        chunks.append(decoder.finish())
        return b"".join(chunks)
