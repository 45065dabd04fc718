"""Parse only what is new: a feed's items found by a byte scan, fingerprinted, known ones cut.

The steady state of a feed is one or two new items among fifty. The items of the last saved
poll are remembered by fingerprint (a hash of their bytes) and size in KnownItems; the next
body is scanned for its items (a regular expression over the bytes, CDATA and comments
skipped; where the sizes say a known item ends and the fingerprint agrees, it is taken whole,
unread), the known ones are cut out, and feedparser reads the rest: the feed's own elements
and the new or edited items. Whatever looks odd is parsed in full, as before: a DOCTYPE,
items inside items, RSS items mixed with Atom entries, a body that is not ASCII-compatible,
any defect feedparser notes, a count of entries that differs from the scan's, a changed feed
link or language, or changed markup around the items (namespaces, xml:base, the encoding).
Every feed is parsed in full at least once every KNOWN_ITEMS_MAX_AGE too.

Pure: bytes in, values out (runs in the parser workers).
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.ingest.parse import (
    MAX_ENTRIES,
    PARSER_HEADERS,
    ParsedFeed,
    failed_parse,
    parse_input,
    parser_input,
)

# However long a feed's items stay unchanged, it is parsed in full at least this often: a
# story pruned by retention (bot.storage.retention) while its feed still lists it is then
# recorded again, as a full parse of every poll would.
KNOWN_ITEMS_MAX_AGE = 24 * 3600.0
FINGERPRINT_BYTES = 16

# An item or entry tag (any prefix: the count check against feedparser tells which prefixes
# it reads as items), a DOCTYPE, or the start of CDATA or a comment, skipped to their end.
# No part may run past a "<" (which XML allows in neither tags nor attribute values), so a
# hostile body costs one linear pass. The prefix is matched possessively: a name without a
# ":" ("<title>") fails at once instead of giving its letters back one by one.
_TOKEN = re.compile(
    rb"<(?:(?P<cdata>!\[CDATA\[)|(?P<comment>!--)|(?P<doctype>!DOCTYPE)"
    rb"|(?P<close>/)?(?P<name>(?:[A-Za-z_][\w.-]*+:)?(?P<local>item|entry))"
    rb"(?P<rest>(?:\s(?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)?/?)>)"
)
_SKIP_TO = {"cdata": b"]]>", "comment": b"-->"}
# Any tag, whole CDATA or comment (the scan made sure they end): the markup around the
# items is the tags alone.
_MARKUP = re.compile(rb"<(?:!\[CDATA\[.*?\]\]>|!--.*?-->|[^<>]*>)", re.DOTALL)
_GT = ord(">")


@dataclass(frozen=True)
class KnownItems:
    """The items of a feed's last saved poll, and what they were read in."""

    # A digest of the URL, the parser's headers and the markup around the items.
    context: bytes
    # The feed's link and language as parsed: the items' base URL and language.
    link: str | None
    language: str | None
    fingerprints: frozenset[bytes]
    # When the full parse these items descend from ran.
    since: float
    # The items' lengths in the body, in order (array "I"): where the next scan guesses
    # that a known item ends.
    sizes: bytes = b""


@dataclass(frozen=True)
class ItemScan:
    """Where a body's items are, their fingerprints, and the tags outside them."""

    spans: tuple[tuple[int, int], ...]
    fingerprints: tuple[bytes, ...]
    markup: bytes


@dataclass(frozen=True)
class IncrementalParse:
    """A parse of a body's new items (or of all of it), and what to remember of it."""

    parsed: ParsedFeed
    # The items to remember for the next poll; None when the body must be parsed in full.
    known: KnownItems | None
    # Entries feedparser read, and known items it was not given.
    parsed_entries: int
    skipped_items: int


def response_digest(url: str, headers: Mapping[str, str], body: bytes) -> str:
    """Return the identity of a response as parsing sees it: URL, parser headers, body."""
    # SHA-256 (about twice BLAKE2's speed with SHA instructions). A digest stored by a version
    # that used another hash (feeds.body_digest) differs once: that body is parsed again.
    lowered = {name.lower(): value for name, value in headers.items()}
    digest = hashlib.sha256()
    for part in (url, *(lowered.get(name, "") for name in PARSER_HEADERS)):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body)
    return digest.digest()[:FINGERPRINT_BYTES].hex()


def scan_items(body: bytes, known: KnownItems | None = None) -> ItemScan | None:
    """Find the top-level items or entries of a body; None when it needs a full parse.

    Given the items of the last poll, an item whose bytes are a known item's is taken whole,
    unread: what the scan finds inside an item depends on its bytes alone (no token runs past
    a "<", and a CDATA or comment skipped there ended inside it), so it would find what it
    found before, the item's own tags. The result is the same with or without them.
    """
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in body[:4]:
        return None  # UTF-16 or UTF-32: the byte patterns below do not apply
    guess = _Guess(body, known)
    spans: list[tuple[int, int]] = []
    fingerprints: list[bytes] = []
    tags: list[bytes] = []
    kinds: set[bytes] = set()
    open_name: bytes | None = None
    start = outside = 0  # outside: where the markup outside the items goes on
    matches = _TOKEN.finditer(body)
    while (match := next(matches, None)) is not None:
        kind = match.lastgroup  # "rest" for an item tag: its last group, always matched
        if kind in _SKIP_TO:
            end = body.find(_SKIP_TO[kind], match.end())
            if end < 0:
                return None  # cut short inside CDATA or a comment
            matches = _TOKEN.finditer(body, end + len(_SKIP_TO[kind]))
        elif kind == "doctype":
            return None  # its entities could put items where no scan sees them
        elif match["close"]:
            if match["name"] != open_name:
                return None
            outside, open_name = match.end(), None
            spans.append((start, outside))
            fingerprints.append(_fingerprint(guess.view[start:outside]))
        elif open_name is not None:
            return None  # an item inside an item
        else:
            start = match.start()
            kinds.add(match["local"])
            _tags_between(body, outside, start, tags)
            if match["rest"].endswith(b"/"):
                outside = match.end()
                spans.append((start, outside))
                fingerprints.append(_fingerprint(guess.view[start:outside]))
            elif (after := guess.take_known(start, spans, fingerprints)) > start:
                outside = after
                matches = _TOKEN.finditer(body, outside)
            else:
                open_name = match["name"]
    if open_name is not None or len(kinds) > 1:
        return None
    _tags_between(body, outside, len(body), tags)
    return ItemScan(tuple(spans), tuple(fingerprints), b"".join(tags))


class _Guess:
    """Which known items come next: the one after the last known item found, or the two after.

    Feeds add items at the top and drop them at the bottom, so known items come in the order
    they came before, side by side. A new item (read, guessed wrong) leaves the guess where it
    was; the item after an edited or removed one is its successor's guess.
    """

    def __init__(self, body: bytes, known: KnownItems | None) -> None:
        self.view = memoryview(body)
        self._body = body
        self._known = known.fingerprints if known is not None else frozenset()
        self._sizes = memoryview(known.sizes).cast("I") if known is not None else None
        self._next = 0

    def take_known(self, start: int, spans: list[tuple[int, int]], prints: list[bytes]) -> int:
        """Add the known items from start on, side by side, to spans and prints; return their end.

        Each one starts where the last ended: after an item, the scan would search from its end
        and find the next one's first tag right there.
        """
        sizes, body, known = self._sizes, self._body, self._known
        if sizes is None:
            return start
        position, index = start, self._next
        while index < len(sizes):
            for guess in range(index, min(index + 3, len(sizes))):
                end = position + sizes[guess]
                if end <= len(body) and body[end - 1] == _GT:
                    fingerprint = _fingerprint(self.view[position:end])
                    if fingerprint in known:
                        spans.append((position, end))
                        prints.append(fingerprint)
                        position, index = end, guess + 1
                        break
            else:
                break
        self._next = index
        return position


def item_sizes(spans: Sequence[tuple[int, int]]) -> bytes:
    """Return the lengths of the items, in order, as KnownItems.sizes keeps them."""
    return array("I", [end - begin for begin, end in spans]).tobytes()


def _fingerprint(data: bytes | memoryview) -> bytes:
    # SHA-256, not BLAKE2: with the CPU's SHA instructions it hashes items about twice as fast.
    # Fingerprints live only in the bot's memory (KnownItems), never compared across versions.
    return hashlib.sha256(data).digest()[:FINGERPRINT_BYTES]


def _tags_between(body: bytes, begin: int, end: int, tags: list[bytes]) -> None:
    """Add the tags between begin and end (no text, CDATA or comments) to tags."""
    if body.find(b"<", begin, end) >= 0:  # items are mostly side by side: no gap to read
        tags.extend(
            match.group()
            for match in _MARKUP.finditer(body, begin, end)
            if not match.group().startswith((b"<![CDATA[", b"<!--"))
        )


def _context(url: str, headers: Mapping[str, str], markup: bytes) -> bytes:
    digest = hashlib.sha256()
    for name, value in sorted(headers.items()):
        digest.update(f"{name}: {value}\n".encode("utf-8", "surrogateescape"))
    digest.update(url.encode("utf-8", "surrogateescape") + b"\n")
    digest.update(markup)
    return digest.digest()[:FINGERPRINT_BYTES]


def _without(body: bytes, spans: Sequence[tuple[int, int]], keep: Sequence[bool]) -> bytes:
    """Return body with the spans not kept cut out."""
    pieces: list[bytes] = []
    position = 0
    for (begin, end), kept in zip(spans, keep, strict=True):
        if not kept:
            if begin > position:  # known items mostly lie side by side: nothing between
                pieces.append(body[position:begin])
            position = end
    pieces.append(body[position:])
    return b"".join(pieces)


def _read_whole(parsed: ParsedFeed, items: int) -> bool:
    """Tell whether feedparser read the document cleanly, one entry per item scanned."""
    entries = len(parsed.entries) + parsed.skipped_entries
    return parsed.error is None and parsed.bozo is None and entries == items <= MAX_ENTRIES


def parse_new(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    known: KnownItems | None,
    now: float,
) -> IncrementalParse:
    """Parse the items of body not in known (all of them when anything is odd)."""
    if not body.strip():
        return IncrementalParse(failed_parse("empty document"), None, 0, 0)
    data, parser_headers = parser_input(body, headers)
    scan = scan_items(data, known)
    context = _context(url, parser_headers, scan.markup) if scan is not None else b""
    if (
        scan is not None
        and known is not None
        and known.context == context
        and now - known.since < KNOWN_ITEMS_MAX_AGE
    ):
        new = [fingerprint not in known.fingerprints for fingerprint in scan.fingerprints]
        parsed = parse_input(_without(data, scan.spans, new), parser_headers, url)
        if _read_whole(parsed, sum(new)) and (parsed.link, parsed.language) == (
            known.link,
            known.language,
        ):
            remember = KnownItems(
                context,
                parsed.link,
                parsed.language,
                frozenset(scan.fingerprints),
                known.since,
                item_sizes(scan.spans),
            )
            return IncrementalParse(parsed, remember, sum(new), len(new) - sum(new))
    parsed = parse_input(data, parser_headers, url)
    full = None
    if scan is not None and _read_whole(parsed, len(scan.spans)):
        fingerprints = frozenset(scan.fingerprints)
        full = KnownItems(
            context, parsed.link, parsed.language, fingerprints, now, item_sizes(scan.spans)
        )
    return IncrementalParse(parsed, full, len(parsed.entries) + parsed.skipped_entries, 0)
