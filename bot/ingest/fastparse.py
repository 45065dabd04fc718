"""The fast path: a well-formed feed read by expat straight into feedparser's own result shape.

feedparser spends most of a parse in its per-element Python machinery. For the documents it
reads with its strict (expat) parser, FeedState (feedstate.py) replays that machinery for the
elements news feeds use, with feedparser's own helpers (its charset conversion, dates, URL
joining), and yields the `feed` and `entries` values parse.py reads, as feedparser would.
Anything it does not replay with certainty gives None, and feedparser parses the body as
before: a DOCTYPE, xml:base, an XML error, nested items, markup inside a text element, a text
type other than text or html, an element feedparser handles that is not replayed (source,
itunes, ...), a document without entries, or a feedparser release it was not checked against.
A document that fails late costs both parses, never a different result.

Pure: bytes in, values out (runs in the parser workers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.parsers import expat

import feedparser
from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype

from bot.ingest import feedhandlers, feedtags
from bot.ingest.feedstate import End, FallbackError, FeedState, Start

XLINK = "http://www.w3.org/1999/xlink"
# The feedparser releases the replay was checked against (tests/test_fastparse*.py compare
# both on every corpus feed and thousands of random ones). Under any other release feedparser
# reads everything, and those tests fail until the replay is checked against it.
CHECKED_FEEDPARSER = frozenset({"6.0.14"})
ENABLED = feedparser.__version__ in CHECKED_FEEDPARSER

# Elements feedparser pushes as plain values and stores under keys parse.py never reads:
# (what it pushes, whether it expects text, the elements). Their end handlers only pop.
_PLAIN = (
    ("author", 1, "author managingeditor dc_author dc_creator"),
    ("publisher", 1, "webmaster dc_publisher"),
    ("name", 0, "name dc_contributor"),
    ("contributor", 0, "contributor"),
    ("email", 0, "email"),
    ("href", 1, "url homepage uri"),
    ("width", 0, "width"),
    ("height", 0, "height"),
    ("generator", 1, "generator"),
    ("created", 1, "created dcterms_created"),
    ("expired", 1, "expirationdate"),
    ("url", 1, "media_thumbnail"),
    ("credit", 1, "media_credit"),
    ("rating", 1, "media_rating"),
    ("restriction", 1, "media_restriction"),
    ("license", 1, "media_license"),
    ("media_player", 0, "media_player"),
    ("language", 1, "language dc_language"),
)
# Text elements kept under keys parse.py never reads: (the key pushed, the elements).
_OTHER_TEXT = (
    ("rights", "rights copyright dc_rights"),
    ("subtitle", "subtitle tagline"),
    ("info", "info feedburner_browserfriendly"),
)
# Dates: (the key pushed, the key of the parsed date, the elements).
_DATES = (
    ("published", "published_parsed", "published issued pubdate dcterms_issued"),
    ("updated", "updated_parsed", "updated modified lastbuilddate dc_date dcterms_modified"),
)
# Handlers that record nothing parse.py reads and push nothing.
_SILENT = frozenset({"enclosure", "media_content", "media_group", "cloud"})

_STARTS: dict[str, Start] = {**feedhandlers.STARTS, **feedtags.STARTS}
_ENDS: dict[str, End] = {**feedhandlers.ENDS, **feedtags.ENDS}
for _pushed, _key, _names in _DATES:
    for _name in _names.split():
        _STARTS[_name], _ENDS[_name] = feedhandlers.date(_pushed, _key)
for _pushed, _expecting, _names in _PLAIN:
    for _name in _names.split():
        _STARTS[_name], _ENDS[_name] = feedhandlers.plain(_pushed, _expecting)
for _pushed, _names in _OTHER_TEXT:
    for _name in _names.split():
        _STARTS[_name], _ENDS[_name] = feedhandlers.text(_pushed)
for _name in _SILENT:
    _STARTS[_name] = feedhandlers.nothing


def fast_parse(body: bytes, response_headers: Mapping[str, str]) -> dict[str, Any] | None:
    """Return feedparser's result for body (feed, entries, bozo), or None: use feedparser."""
    # The same steps feedparser.parse takes before its XML parser runs.
    result: dict[str, Any] = {"bozo": False, "headers": dict(response_headers)}
    if not body or not ENABLED:
        return None
    data = convert_to_utf8(result["headers"], body, result)
    if not result.get("encoding"):
        return None  # feedparser would use its loose parser
    version, data, entities = replace_doctype(data)
    if version or entities:
        return None
    state = FeedState(result["headers"].get("content-language"), _STARTS, _ENDS)
    try:
        _run_expat(state, data)
    except (FallbackError, expat.ExpatError):
        return None
    except Exception:  # anything unforeseen: feedparser decides, as before
        return None
    if not state.entries or not state.version:
        return None  # no entries: feedparser words the error or the empty feed
    result["version"] = state.version
    result["feed"] = state.feeddata
    result["entries"] = state.entries
    return result


def _run_expat(state: FeedState, data: bytes) -> None:
    # The parser xml.sax builds for feedparser: expat with namespaces, names as "uri local".
    parser = expat.ParserCreate(None, " ")
    parser.buffer_text = True
    parser.buffer_size = 65_536

    def doctype(*_: object) -> None:
        raise FallbackError("DOCTYPE")

    def namespace(prefix: str | None, uri: str | None) -> None:
        if not uri:
            return
        if prefix and uri == XLINK:
            state.decls["xmlns:" + prefix] = uri
        state.track_namespace(prefix or None, uri)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartNamespaceDeclHandler = namespace
    parser.StartElementHandler = state.start_element
    parser.EndElementHandler = state.end_element
    parser.CharacterDataHandler = state.characters
    parser.Parse(data, True)
