"""feedparser's strict-parser state machine, replayed for the elements news feeds use.

Each method mirrors the feedparser 6 code of the same name (mixin.py, parsers/strict.py),
down to its quirks: the title kept by depth, the latin-1/UTF-8 repair and cp1252 mapping of
every text. An element whose feedparser handler is not replayed (feedhandlers.py has those
that are) raises FallbackError, as does anything that would take feedparser down a path not
replayed (xml:base, markup inside a text element, a text type other than plain or HTML).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin

_MATCH = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_USERLAND = "http://backend.userland.com/rss"
# Every element name feedparser has a handler for: those not replayed below fall back.
HANDLED = frozenset(
    name.split("_", 2)[2] for name in dir(_FeedParserMixin) if name.startswith(("_start_", "_end_"))
)
_RELATIVE = frozenset(_FeedParserMixin.can_be_relative_uri)
# The texts feedparser files under keys parse.py reads; the others are popped and dropped,
# so the dictionaries hold nothing FeedParserDict's key aliases could map onto those keys.
_FILED = frozenset({"title", "id", "link", "description", "summary", "content", "ttl", "language"})
# Texts a handler reads once popped: the dates it parses, the categories it files as tags.
_NEEDED = _FILED | {"published", "updated", "category", "media_keywords"}
_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
# What feedparser's cp1252 mapping changes (a search is cheaper than translating every text).
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_looks_like_html = _FeedParserMixin.looks_like_html
_map_type = _FeedParserMixin.map_content_type

# Elements feedparser has only an end handler for: their start is an unknown element's.
_END_ONLY = frozenset(name for name in HANDLED if not hasattr(_FeedParserMixin, "_start_" + name))
_HAS_END = frozenset(name for name in HANDLED if hasattr(_FeedParserMixin, "_end_" + name))


def _attributes(decls: dict[str, str], raw: dict[str, str]) -> dict[str, str]:
    """Return an element's attributes as feedparser sees them (strict.startElementNS)."""
    attrs = dict(decls)
    for key, value in raw.items():
        namespace, _, local = key.rpartition(" ")
        prefix = _MATCH.get(namespace.lower(), "")
        attrs[(prefix + ":" + local if prefix else local).lower()] = value
        # Then by its qname, which xml.sax gives as the local name alone (last, as there).
        attrs[local.lower()] = value
    for key in ("rel", "type"):
        if key in attrs:
            attrs[key] = attrs[key].lower()
    return attrs


class FallbackError(Exception):
    """The document needs feedparser itself."""


class FeedState:
    """What feedparser's parser holds while it reads a document, for the replayed subset."""

    def __init__(
        self, language: str | None, starts: dict[str, Start], ends: dict[str, End]
    ) -> None:
        self.starts = starts
        self.ends = ends
        self.feeddata: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.version = ""
        self.decls: dict[str, str] = {}
        self.namespacemap: dict[str | None, str] = {}
        self.namespaces_in_use: dict[str, str] = {}
        self.lang = language
        if language:
            self.feeddata["language"] = language.replace("_", "-")
        self.infeed = self.inentry = self.inimage = self.incontent = 0
        self.has_content = self.guidislink = 0
        self.summary_key: str | None = None
        self.contentparams: dict[str, Any] = {}
        self.stack: list[tuple[str, int, list[str]]] = []
        self.depth = 0
        self.title_depth = -1
        self.entry_depths: dict[str, int] = {}
        self.names: dict[str, _StartName] = {}
        self.end_names: dict[str, tuple[str, End | None]] = {}

    # --- names (parsers/strict.py, mixin.track_namespace) ---------------------------------

    def track_namespace(self, prefix: str | None, uri: str) -> None:
        lower = uri.lower()
        if not self.version:
            if (prefix, lower) == (None, "http://my.netscape.com/rdf/simple/0.9/"):
                self.version = "rss090"
            elif lower == "http://purl.org/rss/1.0/":
                self.version = "rss10"
            elif lower == "http://www.w3.org/2005/atom":
                self.version = "atom10"
        if _USERLAND in lower:
            uri = lower = _USERLAND
        if lower in _MATCH:
            self.namespacemap[prefix] = _MATCH[lower]
            self.namespaces_in_use[_MATCH[lower]] = uri
        else:
            self.namespaces_in_use[prefix or ""] = uri
        self.names.clear()
        self.end_names.clear()

    def _tag(self, raw: str, *, start: bool) -> str:
        namespace, _, local = raw.rpartition(" ")
        lower = namespace.lower()
        if start and _USERLAND in lower:
            namespace = lower = _USERLAND
        prefix = _MATCH.get(lower, None if start else "")
        if prefix:
            local = prefix.lower() + ":" + local
        elif namespace:
            for name, value in self.namespaces_in_use.items():
                if name and value == namespace:
                    local = name + ":" + local
                    break
        return local.lower()

    def _name(self, tag: str) -> tuple[str, str]:
        """Return the handler name of a tag and its mapped prefix (mixin.unknown_starttag)."""
        prefix, colon, suffix = tag.partition(":")
        if not colon:
            prefix, suffix = "", tag
        prefix = self.namespacemap.get(prefix, prefix)
        return (f"{prefix}_{suffix}" if prefix else suffix), prefix

    def _start_names(self, raw: str) -> _StartName:
        """Return what a start tag means, cached until the next xmlns (it maps the names)."""
        tag = self._tag(raw, start=True)
        name, prefix = self._name(tag)
        handler = self.starts.get(name)
        if tag in ("math", "svg"):
            raise FallbackError("MathML or SVG")
        if handler is None and name in HANDLED and name not in _END_ONLY:
            raise FallbackError(f"element {name}")
        resets_image = not prefix and tag not in _IMAGE_TAGS
        known = self.names[raw] = (name, handler, resets_image, tag in ("feed", "rss"))
        return known

    def _end_names(self, raw: str) -> tuple[str, End | None]:
        name = self._name(self._tag(raw, start=False))[0]
        handler = self.ends.get(name)
        if handler is None and name in _HAS_END:
            raise FallbackError(f"end of {name}")
        known = self.end_names[raw] = (name, handler)
        return known

    # --- the SAX events -------------------------------------------------------------------

    def start_element(self, raw: str, raw_attrs: dict[str, str]) -> None:
        name, handler, resets_image, root = self.names.get(raw) or self._start_names(raw)
        if raw_attrs or self.decls:
            attrs = _attributes(self.decls, raw_attrs)
            self.decls = {}
            if "xml:base" in attrs or "base" in attrs:
                raise FallbackError("xml:base")
        else:
            attrs = {}
        self.depth += 1
        if root:
            if self.depth > 1:
                raise FallbackError("a root element inside the document")
            lang = attrs.get("xml:lang", attrs.get("lang"))
            lang = None if lang == "" else (self.lang if lang is None else lang)
            if lang:
                self.feeddata["language"] = lang.replace("_", "-")
        if self.incontent:
            raise FallbackError("markup inside a text element")
        if resets_image:
            self.inimage = 0
        if handler is not None:
            handler(self, attrs)
        elif attrs:
            if name in _FILED:
                self.context()[name] = attrs
        else:
            self.stack.append((name, 1, []))

    def end_element(self, raw: str) -> None:
        name, handler = self.end_names.get(raw) or self._end_names(raw)
        if handler is not None:
            handler(self)
        else:
            self.pop(name)
        self.depth -= 1

    def characters(self, text: str) -> None:
        if self.stack:
            self.stack[-1][2].append(text)

    # --- mixin helpers --------------------------------------------------------------------

    def context(self) -> dict[str, Any]:
        """Return the dictionary feedparser files into now (mixin._get_context)."""
        if self.inimage and "image" in self.feeddata:
            image: dict[str, Any] = self.feeddata["image"]
            return image
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def save(self, key: str, value: object, *, overwrite: bool = False) -> None:
        context = self.context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def push_content(self, tag: str, attrs: dict[str, str], default: str, expecting: int) -> None:
        self.incontent += 1
        content_type = _map_type(attrs.get("type", default))
        if attrs.get("mode", "") == "base64" or content_type not in _TEXT_TYPES:
            raise FallbackError(f"text of type {content_type}")
        self.contentparams = {"type": content_type}
        self.stack.append((tag, expecting, []))

    def pop_content(self, tag: str) -> str | None:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams = {}
        return value

    def pop(self, element: str) -> str | None:
        """Pop element's text and file it where feedparser does (mixin.pop)."""
        if not self.stack or self.stack[-1][0] != element:
            return None
        _, expecting, pieces = self.stack.pop()
        output = "".join(pieces).strip()
        if not expecting or element not in _NEEDED:
            return output  # its text is filed under a key parse.py never reads
        if element in _RELATIVE and ":///" in output and (element != "id" or self.guidislink):
            # _urljoin("", url) only drops the slashes after "scheme://" (no base to join).
            output = _urljoin("", output)
        params = self.contentparams
        # feedparser retypes plain text that looks like HTML; only a content part keeps the
        # type (the parameters are cleared once the text is filed), so only there is it asked.
        if (
            element == "content"
            and not self.version.startswith("atom")
            and params.get("type") == "text/plain"
            and _looks_like_html(output)
        ):
            params["type"] = "text/html"
        # feedparser's repair of UTF-8 text read as latin-1, then its cp1252 mapping: both
        # leave ASCII text as it is.
        if not output.isascii():
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                output = output.encode("iso-8859-1").decode("utf-8")
            if _C1_CONTROLS.search(output):
                output = output.translate(_cp1252)
        if element in ("category", "tags", "itunes_keywords"):
            return output
        if (element == "title" and -1 < self.title_depth <= self.depth) or element not in _FILED:
            return output
        if self.inentry:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault("content", [])
                entry["content"].append({"type": params.get("type"), "value": output})
            elif element == "link":
                if not self.inimage:
                    if "&" in output:
                        output = _QUERY_ENTITY.sub(r"&\g<1>", output.replace("&amp;", "&"))
                    entry["link"] = output
                    if output:
                        entry["links"][-1]["href"] = output
            else:
                key = "summary" if element == "description" else element
                old = self.entry_depths.get(key)
                if old is None or self.depth <= old:
                    self.entry_depths[key] = self.depth
                    entry[key] = output
        elif self.infeed:
            context = self.context()
            key = "subtitle" if element == "description" else element
            context[key] = output
            if key == "link":
                output = _QUERY_ENTITY.sub(r"&\g<1>", output)
                context[key] = output
                context["links"][-1]["href"] = output
        return output


_IMAGE_TAGS = frozenset({"title", "link", "description", "url", "href", "width", "height"})


Start = Callable[[FeedState, dict[str, str]], None]
End = Callable[[FeedState], None]
# A start tag's handler name, handler, whether it ends an <image> (feedparser's hack for
# empty ones), and whether it is a root element (rss, feed).
_StartName = tuple[str, Start | None, bool, bool]
