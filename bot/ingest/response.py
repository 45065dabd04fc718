"""The body and caching headers of one HTTP response: bounded decoding, Retry-After, max-age.

Pure helpers of bot.ingest.fetch: no I/O, no HTTP client.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


class FetchFailure(Exception):
    """Internal: abort a fetch with a short human-readable reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_size(size: int) -> str:
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


class BoundedDecoder:
    """Undo Content-Encoding while counting output, failing past the size cap.

    httpx's own decoders inflate a whole network chunk at once, so a 64 KB chunk of a gzip
    bomb could become ~64 MB before any size check; here zlib is told the most it may emit.
    """

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in {"gzip", "x-gzip", "deflate"}):
            raise FetchFailure(f"unsupported Content-Encoding {content_encoding}")
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
            raise FetchFailure(f"response larger than {describe_size(self._max_bytes)}")
        return output

    def _inflate(self, data: bytes) -> bytes:
        # One byte more than the remaining allowance is enough to know the cap is passed.
        allowance = self._max_bytes - self._size + 1
        try:
            output: bytes = self._zlib.decompress(data, allowance)
        except zlib.error as exc:
            if self._coding != "deflate" or self._started:
                raise FetchFailure(f"could not decompress response: {exc}") from exc
            # HTTP "deflate" means zlib-wrapped, but some servers send raw deflate: retry once.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
            return self._inflate(data)
        self._started = True
        return output


def describe_exception(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
