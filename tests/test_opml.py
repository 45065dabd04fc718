"""OPML read and write as pure functions: real lists, hostile files, and round trips."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.opml import (
    MAX_ELEMENTS,
    MAX_IMPORT_FEEDS,
    MAX_OPML_BYTES,
    OpmlError,
    OpmlFeed,
    read_opml,
    write_opml,
)

CREATED = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)

# As Feedly, Inoreader and NetNewsWire export: folders, text and title, html links.
READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC News" title="BBC News - World"
               xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"
               htmlUrl="https://www.bbc.co.uk/news/world"/>
      <outline text="Europe">
        <outline type="rss" text="Kyiv Independent" xmlUrl="https://kyivindependent.com/feed/"/>
      </outline>
    </outline>
    <outline type="rss" text="  Meduza\n  (en) " xmlURL=" https://meduza.io/rss/en/all "/>
    <outline type="link" text="Not a feed" url="https://example.com/"/>
    <outline type="rss" text="BBC again" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
  </body>
</opml>
"""


def test_folders_are_flattened_in_order_with_titles_each_url_once() -> None:
    assert read_opml(READER_EXPORT) == [
        OpmlFeed("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC News - World"),
        OpmlFeed("https://kyivindependent.com/feed/", "Kyiv Independent"),
        OpmlFeed("https://meduza.io/rss/en/all", "Meduza (en)"),
    ]


def test_namespaced_and_utf16_and_single_byte_encodings_are_read() -> None:
    text = '<opml version="2.0"><body><outline text="Новини" xmlUrl="https://x/rss"/></body></opml>'
    expected = [OpmlFeed("https://x/rss", "Новини")]
    assert read_opml(text.encode("utf-16")) == expected
    declared = '<?xml version="1.0" encoding="windows-1251"?>' + text
    assert read_opml(declared.encode("cp1251")) == expected
    namespaced = (
        b'<o:opml xmlns:o="urn:x"><o:body><o:outline xmlUrl="https://x/rss"/></o:body></o:opml>'
    )
    assert read_opml(namespaced) == [OpmlFeed("https://x/rss")]


def test_written_document_is_opml_2_with_head_and_one_outline_per_feed() -> None:
    document = write_opml(
        [OpmlFeed("https://a.example/rss?x=1&y=2", "A & <B>"), OpmlFeed("https://b.example/")],
        title="Newshound feeds",
        created=CREATED,
    )
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<opml version=\"2.0\">")
    assert b"<title>Newshound feeds</title>" in document
    assert b"<dateCreated>Mon, 30 Nov 2026 05:00:00 +0000</dateCreated>" in document
    assert (
        b'<outline type="rss" text="A &amp; &lt;B&gt;" title="A &amp; &lt;B&gt;" '
        b'xmlUrl="https://a.example/rss?x=1&amp;y=2" />' in document
    )
    # OPML requires text: without a title it is the URL, and no title attribute is written.
    assert b'<outline type="rss" text="https://b.example/" xmlUrl="https://b.example/" />' in (
        document
    )


def test_characters_xml_cannot_carry_are_dropped_so_the_export_stays_readable() -> None:
    document = write_opml(
        [OpmlFeed("https://a.example/rss", "Bad\x00 \x1b title\ufffe")], title="t", created=CREATED
    )
    assert read_opml(document) == [OpmlFeed("https://a.example/rss", "Bad title")]


def _xml_char(char: str) -> bool:
    """XML 1.0's Char production: what a document can carry at all."""
    code = ord(char)
    return char in "\t\n\r" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code > 0xFFFF


def _titles() -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8"), max_size=40)


_URLS = st.builds(
    "https://{}.example/{}?q={}".format,
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12),
    st.text("abcxyz/._~-", max_size=12),
    st.text("&=%;abc", max_size=8),
)


@given(st.lists(st.builds(OpmlFeed, _URLS, _titles()), min_size=1, max_size=30))
def test_round_trip_keeps_every_feed_its_title_and_order(feeds: list[OpmlFeed]) -> None:
    back = read_opml(write_opml(feeds, title="Newshound feeds", created=CREATED))
    expected: dict[str, str] = {}
    for feed in feeds:
        title = " ".join("".join(c for c in feed.title if _xml_char(c)).split())
        expected.setdefault(feed.url, title)
    assert [(feed.url, feed.title) for feed in back] == [
        (url, "" if title == url else title) for url, title in expected.items()
    ]


def test_round_trip_of_a_reader_export() -> None:
    feeds = read_opml(READER_EXPORT)
    assert read_opml(write_opml(feeds, title="x", created=CREATED)) == feeds


# --- hostile and wrong files: one clear reason, never an exception of another kind ---------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<opml><body><outline text="&lol9;" xmlUrl="https://x/rss"/></body></opml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml><body><outline text="&secret;" xmlUrl="https://x/rss"/></body></opml>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "declares a DTD or entities"),
        (EXTERNAL_ENTITY, "declares a DTD or entities"),
        (b'<!DOCTYPE opml SYSTEM "http://127.0.0.1/x.dtd"><opml/>', "declares a DTD"),
        (b"", "not well-formed XML"),
        (b"OPML? no.", "not well-formed XML"),
        (b"<opml><body><outline xmlUrl='x'></body></opml>", "not well-formed XML"),
        (
            '<opml><body><outline text="Новини" xmlUrl="x"/></body></opml>'.encode("cp1251"),
            "not well-formed XML",
        ),
        (b'<?xml version="1.0" encoding="x-no-such"?><opml/>', "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "XML but not OPML: its root element is “rss”"),
        (b"<opml version='2.0'><head/></opml>", "has no body"),
        (b"<opml><body><outline text='Folder'/></body></opml>", "lists no feeds"),
        (
            b"<opml><body>" + b" " * MAX_OPML_BYTES + b"</body></opml>",
            "an OPML list may be at most 1024 KB",
        ),
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "empty",
        "not-xml",
        "broken-xml",
        "wrong-encoding",
        "unknown-encoding",
        "rss-not-opml",
        "no-body",
        "no-feeds",
        "huge",
    ],
)
def test_hostile_or_wrong_files_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(OpmlError) as refused:
        read_opml(data)
    assert reason in str(refused.value)


def test_deep_nesting_is_flattened_without_recursion() -> None:
    depth = 40_000
    data = (
        b"<opml><body>"
        + b"<outline>" * depth
        + b'<outline text="Deep" xmlUrl="https://deep.example/rss"/>'
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    assert len(data) < MAX_OPML_BYTES
    assert read_opml(data) == [OpmlFeed("https://deep.example/rss", "Deep")]


def test_a_flood_of_elements_is_refused() -> None:
    data = b"<opml><body>" + b"<a/>" * (MAX_ELEMENTS + 1) + b"</body></opml>"
    with pytest.raises(OpmlError, match="more than 50000 elements"):
        read_opml(data)


def test_too_many_feeds_is_refused_with_the_count() -> None:
    outlines = b"".join(
        b'<outline xmlUrl="https://x.example/%d"/>' % n for n in range(MAX_IMPORT_FEEDS + 1)
    )
    with pytest.raises(OpmlError, match="lists 501 feeds; at most 500"):
        read_opml(b"<opml><body>" + outlines + b"</body></opml>")
