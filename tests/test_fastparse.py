"""The fast path gives exactly what feedparser gives, or steps aside.

Every comparison runs the real pipeline twice on the same bytes: once as the bot runs it (the
fast path first) and once with the fast path switched off (feedparser alone, as before).
"""

from pathlib import Path

import pytest

from bot.ingest import parse
from bot.ingest.fastparse import fast_parse
from bot.ingest.parse import ParsedFeed, parse_input, parser_input
from bot.ingest.prepare import PreparedFeed, TextFor, prepare_feed
from tests import corpus

URL = "https://news.example/feed.xml"
NOW = 1_714_564_800.0  # 2024-05-01 12:00 UTC
RSS_HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def corpus_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []


def feedparser_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "fast_parse", lambda body, headers: None)


def both_ways(
    monkeypatch: pytest.MonkeyPatch, body: bytes, headers: dict[str, str] | None = None
) -> tuple[PreparedFeed, PreparedFeed]:
    """Return prepare_feed's result with the fast path, then with feedparser alone."""
    given = RSS_HEADERS if headers is None else headers
    fast = prepare_feed(3, body, given, URL, NOW, TextFor.ALL)
    with monkeypatch.context() as patched:
        feedparser_only(patched)
        slow = prepare_feed(3, body, given, URL, NOW, TextFor.ALL)
    return fast, slow


def assert_same_stories(fast: PreparedFeed, slow: PreparedFeed, name: str) -> None:
    assert (fast.title, fast.error, fast.ttl_minutes) == (slow.title, slow.error, slow.ttl_minutes)
    assert [s.story.key for s in fast.stories] == [s.story.key for s in slow.stories], name
    for mine, theirs in zip(fast.stories, slow.stories, strict=True):
        key = f"{name}: {mine.story.key}"
        assert mine.story.title == theirs.story.title, key
        assert mine.story.link == theirs.story.link, key
        assert mine.story.canonical_link == theirs.story.canonical_link, key
        assert mine.story.summary == theirs.story.summary, key
        assert mine.story.published == theirs.story.published, key
        assert mine.analyzed == theirs.analyzed, key
        assert mine == theirs, key
    assert fast == slow, name  # and what the next poll remembers (KnownItems)


def parsed_both_ways(
    monkeypatch: pytest.MonkeyPatch, xml: str, headers: dict[str, str] | None = None
) -> ParsedFeed:
    """Parse xml with the fast path (which must take it) and alone; return the common result."""
    body, parser_headers = parser_input(xml.encode(), RSS_HEADERS if headers is None else headers)
    assert fast_parse(body, parser_headers) is not None, "the fast path stepped aside"
    fast = parse_input(body, parser_headers, URL)
    with monkeypatch.context() as patched:
        feedparser_only(patched)
        slow = parse_input(body, parser_headers, URL)
    assert fast == slow
    return fast


def takes_fast_path(xml: str | bytes, headers: dict[str, str] | None = None) -> bool:
    raw = xml.encode() if isinstance(xml, str) else xml
    body, parser_headers = parser_input(raw, RSS_HEADERS if headers is None else headers)
    return fast_parse(body, parser_headers) is not None


# --- the whole corpus -----------------------------------------------------------------------


@pytest.mark.skipif(not corpus_files(corpus.REAL), reason="feed corpus not present")
@pytest.mark.parametrize("path", corpus_files(corpus.REAL), ids=lambda path: path.name)
def test_every_real_feed_gives_the_same_stories(
    monkeypatch: pytest.MonkeyPatch, path: Path
) -> None:
    fast, slow = both_ways(monkeypatch, path.read_bytes(), {})
    assert_same_stories(fast, slow, path.name)


@pytest.mark.skipif(not corpus_files(corpus.ILLFORMED), reason="feed corpus not present")
@pytest.mark.parametrize("path", corpus_files(corpus.ILLFORMED), ids=lambda path: path.name)
def test_every_broken_feed_gives_todays_result(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    fast, slow = both_ways(monkeypatch, path.read_bytes(), {})
    assert_same_stories(fast, slow, path.name)


# What servers send: a charset that fits or not, a type that is not XML, a language.
RESPONSE_HEADERS = (
    {"content-type": "text/html"},
    {"content-type": "text/plain; charset=utf-8"},
    {"content-type": "text/xml; charset=iso-8859-1"},
    {"content-type": "application/rss+xml; charset=windows-1251"},
    {"Content-Type": "application/atom+xml", "Content-Language": "pt_BR"},
)


@pytest.mark.skipif(not corpus.REAL.is_dir(), reason="feed corpus not present")
@pytest.mark.parametrize("headers", RESPONSE_HEADERS, ids=str)
def test_every_feed_parses_the_same_whatever_the_headers(
    monkeypatch: pytest.MonkeyPatch, headers: dict[str, str]
) -> None:
    for path in corpus_files(corpus.REAL) + corpus_files(corpus.ILLFORMED):
        body = path.read_bytes()
        fast = parse.parse_feed(body, headers, url=URL)
        with monkeypatch.context() as patched:
            feedparser_only(patched)
            assert parse.parse_feed(body, headers, url=URL) == fast, path.name


@pytest.mark.skipif(not corpus_files(corpus.REAL), reason="feed corpus not present")
def test_most_real_feeds_take_the_fast_path() -> None:
    files = corpus_files(corpus.REAL)
    taken = [path.name for path in files if takes_fast_path(path.read_bytes(), {})]
    # Measured 2026-11-30: 55 of 58 (the others: xml:base, a textinput, HTML markup not
    # escaped inside a description).
    assert len(taken) >= 0.9 * len(files), sorted({p.name for p in files} - set(taken))


# --- field by field -------------------------------------------------------------------------


def rss(items: str, channel: str = "", namespaces: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {namespaces}><channel>'
        f"<title>Feed</title><link>https://news.example/</link>{channel}{items}</channel></rss>"
    )


def atom(entries: str, head: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>Atom feed</title><link href="https://atom.example/"/>{head}{entries}</feed>'
    )


DC = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
CONTENT = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'


FIELD_CASES = {
    "cdata": rss(
        "<item><title><![CDATA[Bread & <b>butter</b>]]></title>"
        "<description><![CDATA[<p>One</p><p>Two</p>]]></description>"
        "<link>https://news.example/1</link></item>"
    ),
    "entities": rss(
        "<item><title>Fish &amp; chips &#8212; &lt;i&gt;now&lt;/i&gt; &#x41;</title>"
        "<link>https://news.example/a?b=1&amp;c=2</link>"
        "<description>&lt;p&gt;Caf&#233;&lt;/p&gt;</description></item>"
    ),
    "html in titles": rss(
        "<item><title>&lt;b&gt;Bold&lt;/b&gt; move</title><link>https://news.example/b</link>"
        "</item><item><title>A &lt; B, 5 &gt; 3</title><link>https://news.example/c</link></item>"
    ),
    "mojibake and cp1252": rss(
        "<item><title>CafÃ© \u0093quoted\u0094</title><link>https://news.example/m</link></item>"
    ),
    "atom content types": atom(
        '<entry><id>tag:a,2024:1</id><title type="html">&lt;em&gt;Hi&lt;/em&gt;</title>'
        '<link rel="alternate" type="text/html" href="https://atom.example/1"/>'
        '<content type="html">&lt;p&gt;Body&lt;/p&gt;</content>'
        "<updated>2024-05-01T10:00:00Z</updated></entry>"
        '<entry><id>tag:a,2024:2</id><title type="text">Plain</title>'
        '<summary type="text">Short</summary><content type="text">Long text</content>'
        "<published>2024-05-01T09:00:00+02:00</published></entry>"
        "<entry><id>tag:a,2024:3</id><title>Only content</title>"
        '<content type="text/html">&lt;p&gt;Text&lt;/p&gt;</content></entry>'
    ),
    "dates": rss(
        "<item><title>pubDate</title><pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item>"
        "<item><title>dc:date</title><dc:date>2024-05-01T08:00:00Z</dc:date></item>"
        "<item><title>both</title><dc:date>2024-05-01T08:00:00Z</dc:date>"
        "<pubDate>Wed, 01 May 2024 11:00:00 +0300</pubDate></item>"
        "<item><title>broken</title><pubDate>yesterday-ish</pubDate></item>",
        namespaces=DC,
    ),
    "guid": rss(
        "<item><title>permalink</title><guid>https://news.example/g1</guid></item>"
        '<item><title>not a permalink</title><guid isPermaLink="false">urn:x:2</guid></item>'
        '<item><title>both</title><guid isPermaLink="true">https://news.example/g3</guid>'
        "<link>https://news.example/l3</link></item>"
        "<item><title>link first</title><link>https://news.example/l4</link>"
        "<guid>https://news.example/g4</guid></item>"
    ),
    "atom links": atom(
        "<entry><id>tag:a,2024:9</id><title>Links</title>"
        '<link rel="enclosure" type="audio/mpeg" href="https://atom.example/a.mp3"/>'
        '<link rel="self" href="https://atom.example/self"/>'
        '<link href="https://atom.example/alternate"/>'
        '<link rel="alternate" type="application/pdf" href="https://atom.example/pdf"/>'
        "</entry><entry><id>https://atom.example/only-id</id><title>No link</title></entry>"
    ),
    "enclosures and media": rss(
        '<item><title>Pics</title><link>https://news.example/p</link><enclosure url="https:'
        '//news.example/a.jpg" type="image/jpeg" length="1"/>'
        '<media:content url="https://news.example/b.jpg"><media:title>Caption title</media:title>'
        "</media:content><media:thumbnail url='https://news.example/t.jpg'/>"
        "<description>The story</description>"
        "<media:description>A photo caption</media:description></item>",
        namespaces=MEDIA,
    ),
    "content and descriptions": rss(
        "<item><title>Encoded</title><description>Teaser</description>"
        "<content:encoded>&lt;p&gt;Full text&lt;/p&gt;</content:encoded></item>"
        "<item><title>Encoded first</title><content:encoded>Full</content:encoded>"
        "<description>Teaser</description></item>"
        "<item><title>Two descriptions</title><description>First</description>"
        "<description>Second &lt;b&gt;bold&lt;/b&gt;</description></item>",
        namespaces=CONTENT,
    ),
    "relative links": rss(
        "<item><title>Relative</title><link>/news/1</link></item>"
        "<item><title>Odd scheme</title><link>http:///news.example//2</link></item>"
    ),
    "feed fields": rss(
        "<item><title>x</title></item>",
        channel="<language>uk</language><ttl>30</ttl><image><title>Logo</title>"
        "<link>https://img.example/</link><url>https://img.example/l.png</url></image>",
    ),
    "a ttl with attributes": rss(
        "<item><title>x</title></item>", channel='<ttl>30</ttl><ttl unit="minutes"/>'
    ),
    "language from the header and xml:lang": atom(
        "<entry><id>tag:a,2024:5</id><title>Мова</title></entry>"
    ).replace("<feed ", '<feed xml:lang="ru" ', 1),
    "rss 1.0": (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<channel rdf:about="https://r.example/"><title>RDF</title><link>https://r.example/'
        '</link><items><rdf:Seq><rdf:li rdf:resource="https://r.example/1"/></rdf:Seq></items>'
        '</channel><item rdf:about="https://r.example/1"><title>One</title>'
        "<link>https://r.example/1</link><dc:date>2024-05-01T07:00:00Z</dc:date>"
        "<dc:creator>Me</dc:creator></item></rdf:RDF>"
    ),
    "titles by depth": rss(
        "<item><title>First</title><dc:title>Second</dc:title></item>"
        "<item><title></title><dc:title>After an empty one</dc:title></item>"
        "<item><media:title>Media</media:title><dc:title>Dublin Core</dc:title></item>"
        "<item><title>Before</title><image>https://i.example/1.png</image>"
        "<dc:title>After the image</dc:title></item>"
        "<item><media:group><media:title>Grouped</media:title></media:group></item>",
        namespaces=f"{DC} {MEDIA}",
    ),
    "categories": rss(
        '<item><title>RSS</title><category domain="https://news.example/t">Politics</category>'
        "<category>Politics</category><category></category><category>Caf\u00c3\u00a9</category>"
        "<dc:subject>Elections</dc:subject><media:category>World/Europe</media:category>"
        "<media:keywords>Kyiv, NATO , ,summit</media:keywords><keywords>Odd</keywords></item>",
        channel="<category>Feed-wide</category>",
        namespaces=f"{DC} {MEDIA}",
    ),
    "atom categories": atom(
        '<entry><id>tag:a,2024:7</id><title>Tagged</title><category term="ukraine"/>'
        '<category term="nato" label="NATO summit" scheme="https://atom.example/s"/>'
        '<category label="Label only"/><category term="ukraine"/><category>text</category>'
        "</entry>"
    ),
    "unknown elements": rss(
        '<item><title>Known</title><x:title xmlns:x="urn:other">Other</x:title>'
        "<comments>https://news.example/c</comments><category>News</category>"
        "<author>a@b.example (A)</author><source_x>ignored</source_x></item>"
    ),
}


@pytest.mark.parametrize("xml", FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_fields_map_as_feedparser_maps_them(monkeypatch: pytest.MonkeyPatch, xml: str) -> None:
    parsed = parsed_both_ways(monkeypatch, xml, {**RSS_HEADERS, "content-language": "en"})
    assert parsed.entries


def test_what_the_fields_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    entities = parsed_both_ways(monkeypatch, FIELD_CASES["entities"]).entries[0]
    assert entities.title == "Fish & chips \u2014 <i>now</i> A"
    assert entities.link == "https://news.example/a?b=1&c=2"
    assert entities.bodies == ("<p>Café</p>",)
    guid = parsed_both_ways(monkeypatch, FIELD_CASES["guid"]).entries
    assert [entry.link for entry in guid] == [
        "https://news.example/g1",
        None,
        "https://news.example/l3",
        "https://news.example/l4",
    ]
    assert parsed_both_ways(monkeypatch, FIELD_CASES["relative links"]).entries[0].link == (
        "https://news.example/news/1"
    )
    titles = parsed_both_ways(monkeypatch, FIELD_CASES["titles by depth"]).entries
    assert [entry.title for entry in titles] == [
        "First",
        "After an empty one",
        "Dublin Core",
        "After the image",
        "Grouped",
    ]
    (tagged,) = parsed_both_ways(monkeypatch, FIELD_CASES["categories"]).entries
    assert tagged.categories == (
        "Politics",
        "Café",
        "Elections",
        "World/Europe",
        "Kyiv",
        "NATO",
        "summit",
        "Odd",
    )
    (atom_tagged,) = parsed_both_ways(monkeypatch, FIELD_CASES["atom categories"]).entries
    # As feedparser files them: a text fills the term of a tag that had a label only.
    assert atom_tagged.categories == ("ukraine", "nato", "NATO summit", "text", "Label only")
    feed = parsed_both_ways(monkeypatch, FIELD_CASES["feed fields"])
    assert (feed.title, feed.link, feed.language, feed.ttl_minutes) == (
        "Feed",
        "https://news.example/",
        "uk",
        30,
    )


# --- when the fast path steps aside ---------------------------------------------------------

FALLBACK_CASES = {
    "doctype": '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY n "x">]>'
    + rss("<item><title>&n;</title></item>")[21:],
    "xml:base": atom('<entry xml:base="https://else.example/"><id>x</id><title>t</title></entry>'),
    "markup inside a description": rss(
        "<item><title>t</title><description><p>raw</p></description></item>"
    ),
    "xhtml content": atom(
        '<entry><id>x</id><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/'
        '1999/xhtml"><p>Hi</p></div></content></entry>'
    ),
    "base64 content": atom(
        '<entry><id>x</id><title>t</title><content type="image/png">AAAA</content></entry>'
    ),
    "atom source": atom(
        "<entry><id>x</id><title>t</title><source><title>S</title></source></entry>"
    ),
    "itunes": rss(
        "<item><title>t</title><itunes:summary>s</itunes:summary></item>",
        namespaces='xmlns:itunes="http://www.itunes.com/DTDs/PodCast-1.0.dtd"',
    ),
    "an item inside an item": rss("<item><title>a</title><item><title>b</title></item></item>"),
    "not well-formed": rss("<item><title>a & b</title></item>"),
    "cut short": rss("<item><title>a</title></item>")[:-20],
    "no entries": rss(""),
    "not a feed": "<html><body>Hello</body></html>",
}


@pytest.mark.parametrize("xml", FALLBACK_CASES.values(), ids=FALLBACK_CASES.keys())
def test_anything_not_replayed_goes_to_feedparser(
    monkeypatch: pytest.MonkeyPatch, xml: str
) -> None:
    assert not takes_fast_path(xml)
    fast, slow = both_ways(monkeypatch, xml.encode())
    assert_same_stories(fast, slow, "fallback")


def test_utf16_goes_to_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    xml = rss("<item><title>Двадцять</title></item>").replace("utf-8", "utf-16")
    body = xml.encode("utf-16")
    fast, slow = both_ways(monkeypatch, body, {"content-type": "application/rss+xml"})
    assert_same_stories(fast, slow, "utf-16")
    assert [story.story.title for story in fast.stories] == ["Двадцять"]
