"""The publisher's categories, replayed as feedparser files them: `tags` of {term, scheme, label}.

Mirrors feedparser 6's _start_category/_end_category (namespaces/_base.py, dc.py,
mediarss.py) and _add_tag (mixin.py) for category, keywords, dc:subject, media:category and
media:keywords. parse.py reads the tags as the entry's categories, which count as story text.
"""

from __future__ import annotations

from bot.ingest.feedstate import End, FallbackError, FeedState, Start


def _add_tag(state: FeedState, term: str | None, scheme: str | None, label: str | None) -> None:
    tags = state.context().setdefault("tags", [])
    if not term and not scheme and not label:
        return
    value = {"term": term, "scheme": scheme, "label": label}
    if value not in tags:
        tags.append(value)


def _start_category(state: FeedState, attrs: dict[str, str]) -> None:
    scheme = attrs.get("scheme", attrs.get("domain"))
    _add_tag(state, attrs.get("term"), scheme, attrs.get("label"))
    state.stack.append(("category", 1, []))


def _start_media_category(state: FeedState, attrs: dict[str, str]) -> None:
    attrs.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
    _start_category(state, attrs)


def _end_category(state: FeedState) -> None:
    value = state.pop("category")
    if not value:
        return
    tags = state.context().get("tags")
    if tags is None:  # the context changed inside the element: feedparser decides
        raise FallbackError("category outside its context")
    if tags and not tags[-1]["term"]:
        tags[-1]["term"] = value
    else:
        _add_tag(state, value, None, None)


def _end_media_keywords(state: FeedState) -> None:
    value = state.pop("media_keywords")
    if value is None:
        raise FallbackError("media:keywords not on the stack")
    for term in value.split(","):
        if term.strip():
            _add_tag(state, term.strip(), None, None)


STARTS: dict[str, Start] = {
    "category": _start_category,
    "keywords": _start_category,
    "dc_subject": _start_category,
    "media_category": _start_media_category,
}
ENDS: dict[str, End] = {
    "category": _end_category,
    "keywords": _end_category,
    "dc_subject": _end_category,
    "media_category": _end_category,
    "media_keywords": _end_media_keywords,
}
