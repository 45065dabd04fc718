"""Parse feed bytes into plain values (runs in a worker process: picklable values only)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser

from bot.ingest.charsets import repair_charset
from bot.ingest.fastparse import fast_parse
from bot.ingest.response import describe_exception
from bot.ingest.urls import join_url, url_scheme

# Memory bound for one parse; feeds list newest first, so the first entries are kept.
MAX_ENTRIES = 2_000
# How much of a non-feed document is sniffed to name what it looks like.
SNIFF_BYTES = 1_024
# The headers feedparser needs to decode the body. Content-Location is withheld on purpose:
# feedparser would resolve relative guids against it, so ids would change with the URL.
PARSER_HEADERS = ("content-type", "content-language")
# What expat says when the input stops inside an element or a tag.
TRUNCATION_ERRORS = frozenset({"no element found", "unclosed token"})


@dataclass(frozen=True)
class ParsedEntry:
    """One feed entry as given by the feed; `bodies` holds raw HTML, fullest first."""

    guid: str | None
    link: str | None
    title: str
    published: datetime | None
    bodies: tuple[str, ...]
    # The publisher's own tags (RSS category, Atom category term and label, dc:subject,
    # media:category and media:keywords), each once, in order: matched as story text.
    categories: tuple[str, ...] = ()


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
    # What the feed declares: <language> (RSS, dc:language), xml:lang (Atom), else the
    # Content-Language header; raw, for bot.text.language to read.
    language: str | None = None


def failed_parse(error: str, bozo: str | None = None) -> ParsedFeed:
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


def _absolute_link(link: str, base: str | None) -> str | None:
    if not link:
        return None
    # An absolute link is kept byte for byte: it is part of the story's identity.
    return link if url_scheme(link) else join_url(base, link)


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
        categories=_categories(_field(raw, "tags")),
    )


def _categories(tags: object) -> tuple[str, ...]:
    if not isinstance(tags, list):
        return ()
    texts = (_text(_field(tag, key)) for tag in tags for key in ("term", "label"))
    return tuple(dict.fromkeys(text for text in texts if text))


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
        return describe_exception(exc)
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
        return failed_parse("empty document")
    body, response_headers = parser_input(body, headers)
    return parse_input(body, response_headers, url)


def parser_input(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    """Return the bytes and headers feedparser is given: the charset decided, once."""
    lowered = {name.lower(): value for name, value in headers.items()}
    response_headers = {name: lowered[name] for name in PARSER_HEADERS if name in lowered}
    return repair_charset(body, response_headers)


def parse_input(body: bytes, response_headers: dict[str, str], url: str | None) -> ParsedFeed:
    """Parse what parser_input returned (or a part of it cut at element boundaries).

    A well-formed document takes the fast path (fastparse.py), which yields what feedparser
    would; feedparser itself reads the rest.
    """
    fast = fast_parse(body, response_headers)
    if fast is not None:
        return _feed_from(fast, body, response_headers, url)
    try:
        parsed = feedparser.parse(
            body,
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # a parser bug must cost one feed, not the poll cycle
        return failed_parse(f"parser failed: {type(exc).__name__}: {describe_exception(exc)}")
    return _feed_from(parsed, body, response_headers, url)


def _feed_from(parsed: Any, body: bytes, headers: Mapping[str, str], url: str | None) -> ParsedFeed:
    bozo = _describe_bozo(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    raw_entries = list(parsed.get("entries") or ())
    if not raw_entries:
        error = _no_entries_error(parsed, body, headers)
        if error is not None:
            return failed_parse(error, bozo)
    if raw_entries and _cut_inside_last_entry(parsed.get("bozo_exception"), body):
        # The document was cut (a dropped connection without Content-Length) inside its
        # last entry: keep the whole ones; the rest comes with the next poll.
        raw_entries = raw_entries[:-1]
        if not raw_entries:
            return failed_parse(f"malformed feed, no entries: {bozo}", bozo)
    feed = parsed.get("feed") or {}
    link = _text(_field(feed, "link")) or None
    base = join_url(url, link) if link else url
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
        language=_text(_field(feed, "language")) or headers.get("content-language") or None,
    )
