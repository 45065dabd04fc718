"""Random feeds from the elements news feeds mix: the fast path gives feedparser's result.

A seeded generator puts the elements the fast path replays (and some it does not) in random
order, nesting and emptiness, with texts that take each of feedparser's text steps (entities,
CDATA, mojibake, cp1252 controls, odd URLs, dates in several formats). Whenever the fast path
takes a document, parse.py's values from it must equal those from feedparser alone.
"""

import random

import feedparser
import pytest

from bot.ingest.fastparse import fast_parse
from bot.ingest.parse import _feed_from, parser_input

DOCUMENTS = 3_000
HEADERS = {"content-type": "application/rss+xml; charset=utf-8", "content-language": "en"}
TEXTS = (
    "",
    " ",
    "Plain",
    "A &amp; B",
    "&lt;b&gt;x&lt;/b&gt;",
    "<![CDATA[<p>c</p>]]>",
    "Caf\u00c3\u00a9",
    "\u0093q\u0094",
    "Київ",
    "http:///x.example//a",
    "/rel/1",
    "https://e.example/a?x=1&amp;y=2",
    "Wed, 01 May 2024 10:00:00 GMT",
    "2024-05-01T10:00:00Z",
    "not a date",
    "&#8212; &#x41;",
)
RSS_CHILDREN = (
    "title", "link", "description", "guid", 'guid isPermaLink="false"',
    'guid isPermaLink="true"', "pubDate", "dc:date", "dc:title", "dc:creator", "dc:subject",
    "dc:description", "dc:language", "content:encoded", "media:title", "media:description",
    'media:description type="html"', "category", "comments", "author", "image", "language",
    "media:group", 'media:content url="u"', 'media:thumbnail url="u"',
    'enclosure url="u" type="audio/mpeg"', 'atom:link href="h"',
    'atom:link rel="alternate" href="https://alt.example/"', 'atom:link rel="self" href="s"',
    "foo", "x:bar", "x:title", "ttl", "summary", "copyright", "source_y",
    'description type="text"',
)  # fmt: skip
CHANNEL_CHILDREN = (
    "title", "link", "language", "ttl", "description", "image", "pubDate",
    'atom:link rel="self" href="s"',
)  # fmt: skip
ATOM_CHILDREN = (
    "title", 'title type="html"', 'title type="text"', "id", 'link href="https://a.example/1"',
    'link rel="alternate" type="text/html" href="https://a.example/2"',
    'link rel="enclosure" href="e"', "link", "summary", 'summary type="html"', "content",
    'content type="html"', 'content type="text"', 'content type="text/html"', "published",
    "updated", "author", 'category term="t"', "media:title", "dc:date",
)  # fmt: skip
FEED_CHILDREN = ("title", 'link href="https://f.example/"', "id", "updated", "subtitle")
# Elements that may hold others in the generated documents.
CONTAINERS = frozenset({"media:group", "media:content", "image", "author", "foo", "x:bar"})
RSS_NAMESPACES = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:x="urn:x"'
)
ATOM_NAMESPACES = (
    'xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def element(rng: random.Random, spec: str, depth: int = 0) -> str:
    name = spec.split(" ")[0]
    inner = rng.choice(TEXTS)
    if name in CONTAINERS and depth < 2 and rng.random() < 0.5:
        children = rng.randint(1, 3)
        inner = "".join(element(rng, rng.choice(RSS_CHILDREN), depth + 1) for _ in range(children))
    return f"<{spec}/>" if rng.random() < 0.1 else f"<{spec}>{inner}</{name}>"


def elements(rng: random.Random, choices: tuple[str, ...], most: int) -> str:
    return "".join(element(rng, rng.choice(choices)) for _ in range(rng.randint(0, most)))


def document(rng: random.Random) -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?>'
    if rng.random() < 0.7:
        channel = elements(rng, CHANNEL_CHILDREN, 4)
        items = "".join(
            f"<item>{elements(rng, RSS_CHILDREN, 7)}</item>" for _ in range(rng.randint(1, 4))
        )
        lang = ' xml:lang="de"' if rng.random() < 0.2 else ""
        after = channel if rng.random() < 0.2 else ""
        xml = f'<rss version="2.0" {RSS_NAMESPACES}{lang}><channel>{channel}{items}{after}'
        return (head + xml + "</channel></rss>").encode()
    entries = "".join(
        f"<entry>{elements(rng, ATOM_CHILDREN, 7)}</entry>" for _ in range(rng.randint(1, 4))
    )
    feed = elements(rng, FEED_CHILDREN, 3)
    return f"{head}<feed {ATOM_NAMESPACES}>{feed}{entries}</feed>".encode()


@pytest.mark.parametrize("seed", range(3))
def test_random_feeds_parse_as_feedparser_parses_them(seed: int) -> None:
    rng = random.Random(seed)
    taken = 0
    for _ in range(DOCUMENTS // 3):
        body, headers = parser_input(document(rng), HEADERS)
        fast = fast_parse(body, headers)
        if fast is None:
            continue
        taken += 1
        alone = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
        url = "https://news.example/feed.xml"
        assert _feed_from(fast, body, headers, url) == _feed_from(alone, body, headers, url), body
    assert taken > DOCUMENTS // 3 * 0.9  # the generator exercises the fast path, not feedparser
