"""The element handlers FeedState replays: feedparser's _start_*/_end_* for news feeds' elements.
The publisher's categories are replayed in feedtags.py.

Each mirrors the feedparser 6 handler of the same name (namespaces/_base.py, dc.py,
mediarss.py). Elements that only store keys parse.py never reads are reduced to what they
push and pop, which decides where text goes and what later pops find on the stack.
"""

from __future__ import annotations

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin

from bot.ingest.feedstate import End, FallbackError, FeedState, Start

_map_type = _FeedParserMixin.map_content_type
_HTML_TYPES = frozenset(_FeedParserMixin.html_types)
_COPIED_TO_SUMMARY = _HTML_TYPES | {"text/plain"}
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_VERSIONS = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}


def _cdf_common(state: FeedState, attrs: dict[str, str]) -> None:
    if "lastmod" in attrs or "href" in attrs:
        raise FallbackError("CDF attributes")


def _start_rss(state: FeedState, attrs: dict[str, str]) -> None:
    if not state.version or not state.version.startswith("rss"):
        given = attrs.get("version", "")
        state.version = _RSS_VERSIONS.get(given) or ("rss20" if given.startswith("2.") else "rss")


def _start_feed(state: FeedState, attrs: dict[str, str]) -> None:
    state.infeed = 1
    if not state.version:
        state.version = _ATOM_VERSIONS.get(attrs.get("version", "")) or "atom"


def _start_channel(state: FeedState, attrs: dict[str, str]) -> None:
    state.infeed = 1
    _cdf_common(state, attrs)


def _end_channel(state: FeedState) -> None:
    state.infeed = 0


def _start_image(state: FeedState, attrs: dict[str, str]) -> None:
    context = state.context()
    if not state.inentry:
        context.setdefault("image", {})
    state.inimage = 1
    state.title_depth = -1
    state.stack.append(("image", 0, []))


def _end_image(state: FeedState) -> None:
    state.pop("image")
    state.inimage = 0


def _start_item(state: FeedState, attrs: dict[str, str]) -> None:
    if state.inentry:
        raise FallbackError("an item inside an item")
    state.entries.append({})
    state.entry_depths = {}
    state.stack.append(("item", 0, []))
    state.inentry = 1
    state.guidislink = 0
    state.title_depth = -1
    about = attrs.get(state.namespacemap.get("rdf", "rdf") + ":about")
    if about:
        state.context()["id"] = about
    _cdf_common(state, attrs)


def _end_item(state: FeedState) -> None:
    state.pop("item")
    state.inentry = 0
    state.has_content = 0


def _start_title(state: FeedState, attrs: dict[str, str]) -> None:
    state.push_content("title", attrs, "text/plain", state.infeed or state.inentry)


def _end_title(state: FeedState) -> None:
    if state.pop_content("title"):
        state.title_depth = state.depth


def _end_media_title(state: FeedState) -> None:
    title_depth = state.title_depth
    _end_title(state)
    state.title_depth = title_depth


def _start_description(state: FeedState, attrs: dict[str, str]) -> None:
    if "summary" in state.context() and not state.has_content:
        state.summary_key = "content"
        _start_content(state, attrs)
    else:
        expecting = state.infeed or state.inentry
        state.push_content("description", attrs, "text/html", expecting)


def _end_description(state: FeedState) -> None:
    if state.summary_key == "content":
        _end_content(state)
    else:
        state.pop_content("description")
    state.summary_key = None


def _start_summary(state: FeedState, attrs: dict[str, str]) -> None:
    if "summary" in state.context() and not state.has_content:
        state.summary_key = "content"
        _start_content(state, attrs)
    else:
        state.summary_key = "summary"
        state.push_content("summary", attrs, "text/plain", 1)


def _end_summary(state: FeedState) -> None:
    if state.summary_key == "content":
        _end_content(state)
    else:
        state.pop_content(state.summary_key or "summary")
    state.summary_key = None


def _start_content(state: FeedState, attrs: dict[str, str]) -> None:
    state.has_content = 1
    state.push_content("content", attrs, "text/plain", 1)
    # feedparser pushes Atom content twice; the first push is never popped.
    state.stack.append(("content", 1, []))


def _start_content_encoded(state: FeedState, attrs: dict[str, str]) -> None:
    state.has_content = 1
    state.push_content("content", attrs, "text/html", 1)


def _end_content(state: FeedState) -> None:
    copy = _map_type(state.contentparams.get("type", "")) in _COPIED_TO_SUMMARY
    value = state.pop_content("content")
    if copy:
        state.save("summary", value)


def _start_link(state: FeedState, attrs: dict[str, str]) -> None:
    attrs.setdefault("rel", "alternate")
    attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
    context = state.context()
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    if "href" in attrs:
        attrs["href"] = _urljoin("", attrs["href"])
    context.setdefault("links", [])
    if not (state.inentry and state.inimage):
        context["links"].append(dict(attrs))
    if "href" in attrs:
        if attrs.get("rel") == "alternate" and _map_type(attrs.get("type", "")) in _HTML_TYPES:
            context["link"] = attrs["href"]
    else:
        state.stack.append(("link", state.infeed or state.inentry, []))


def _end_link(state: FeedState) -> None:
    state.pop("link")


def _start_guid(state: FeedState, attrs: dict[str, str]) -> None:
    state.guidislink = attrs.get("ispermalink", "true") == "true"
    state.stack.append(("id", 1, []))


def _end_guid(state: FeedState) -> None:
    value = state.pop("id")
    state.save("guidislink", state.guidislink and "link" not in state.context())
    if state.guidislink:
        state.save("link", value)


def date(pushed: str, key: str) -> tuple[Start, End]:
    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.stack.append((pushed, 1, []))

    def end(state: FeedState) -> None:
        state.save(key, _parse_date(state.pop(pushed)), overwrite=True)

    return start, end


def plain(pushed: str, expecting: int) -> tuple[Start, End]:
    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.stack.append((pushed, expecting, []))

    def end(state: FeedState) -> None:
        state.pop(pushed)

    return start, end


def text(pushed: str) -> tuple[Start, End]:
    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.push_content(pushed, attrs, "text/plain", 1)

    def end(state: FeedState) -> None:
        state.pop_content(pushed)

    return start, end


def nothing(state: FeedState, attrs: dict[str, str]) -> None:
    pass


# The handlers of the elements that matter to parse.py; fastparse.py adds the others.
STARTS: dict[str, Start] = {
    "rss": _start_rss,
    "feed": _start_feed,
    "channel": _start_channel,
    "image": _start_image,
    "item": _start_item,
    "entry": _start_item,
    "title": _start_title,
    "dc_title": _start_title,
    "media_title": _start_title,
    "description": _start_description,
    "dc_description": _start_description,
    "media_description": _start_description,
    "summary": _start_summary,
    "content": _start_content,
    "content_encoded": _start_content_encoded,
    "link": _start_link,
    "guid": _start_guid,
    "id": _start_guid,
}
ENDS: dict[str, End] = {
    "channel": _end_channel,
    "feed": _end_channel,
    "image": _end_image,
    "item": _end_item,
    "entry": _end_item,
    "title": _end_title,
    "dc_title": _end_title,
    "media_title": _end_media_title,
    "description": _end_description,
    "dc_description": _end_description,
    "media_description": _end_description,
    "summary": _end_summary,
    "content": _end_content,
    "content_encoded": _end_content,
    "link": _end_link,
    "guid": _end_guid,
    "id": _end_guid,
}
