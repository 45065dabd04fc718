"""Parse only what is new: the item scan, the cut document, its fallbacks, and the poller.

The rule every test here comes back to: the stories a poll stores are exactly those a full
parse of the body would have stored, whatever was skipped.
"""

import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.ingest import incremental
from bot.ingest.fetch import Fetcher
from bot.ingest.incremental import (
    KNOWN_ITEMS_MAX_AGE,
    KnownItems,
    item_sizes,
    response_digest,
    scan_items,
)
from bot.ingest.prepare import PreparedFeed, TextFor, prepare_feed
from bot.storage import StoryToSave
from tests import corpus
from tests.feedserver import Item, atom, rss
from tests.full_disk import full_disk
from tests.test_poller import (
    ANN,
    CAROL,
    INTERVAL,
    LIMITS,
    CountingPool,
    Harness,
    ann_poller,
    counting_parsers,
    harness_for,
)

ROOT = Path(__file__).resolve().parents[1]
URL = "https://news.example/feed.xml"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def story_item(n: int, *, description: str | None = None) -> Item:
    return Item(
        title=f"Story {n}",
        link=f"https://news.example/story/{n}",
        guid=f"urn:test:{n}",
        description=description or f"<p>Summary of story {n}.</p>",
        pub_date=NOW - timedelta(minutes=n),
    )


def rss_body(numbers: Sequence[int], **kwargs: Any) -> bytes:
    return rss([story_item(n) for n in numbers], title="World Desk", **kwargs).encode()


def prepare(body: bytes, known: KnownItems | None = None, *, url: str = URL) -> PreparedFeed:
    return prepare_feed(7, body, HEADERS, url, NOW.timestamp(), TextFor.ALL, known)


def fields(stories: Sequence[StoryToSave]) -> list[tuple[object, ...]]:
    """Everything of a story that is stored, matched or sent."""
    return [
        (
            s.story.key,
            s.story.title,
            s.story.link,
            s.story.canonical_link,
            s.story.summary,
            s.story.published,
            s.analyzed,
            s.alertable,
        )
        for s in stories
    ]


def new_to(stories: Sequence[StoryToSave], before: PreparedFeed) -> list[tuple[object, ...]]:
    """The stories a save would find new, given what the earlier poll stored."""
    known = {s.story.key for s in before.stories}
    return fields([s for s in stories if s.story.key not in known])


# ---- the scan ----


def test_the_scan_finds_each_item_whole() -> None:
    body = rss_body([1, 2, 3])
    scan = scan_items(body)
    assert scan is not None
    assert [body[begin:end][:6] for begin, end in scan.spans] == [b"<item>"] * 3
    assert all(body[begin:end].endswith(b"</item>") for begin, end in scan.spans)
    assert len(set(scan.fingerprints)) == 3
    assert b"<item" not in scan.markup and b"<channel>" in scan.markup
    assert b"World Desk" not in scan.markup, "text around the items is not markup"


@pytest.mark.parametrize(
    ("body", "items"),
    [
        (atom([story_item(1), story_item(2)]).encode(), 2),
        (
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns="http://purl.org/rss/1.0/"><channel><title>T</title></channel>'
            b"<item><title>A</title></item><item><title>B</title></item></rdf:RDF>",
            2,
        ),
        (
            b'<rss:rss xmlns:rss="http://backend.userland.com/rss"><rss:channel>'
            b"<rss:item><rss:title>A</rss:title></rss:item></rss:channel></rss:rss>",
            1,
        ),
        (
            b"<rss><channel><description><![CDATA[<item>not one</item>]]></description>"
            b"<!-- <item>nor this</item> --><item><title>A</title>"
            b"<description><![CDATA[a ]] bracket </item>]]></description></item>"
            b"<item/></channel></rss>",
            2,
        ),
    ],
    ids=["Atom entries", "RDF items outside the channel", "prefixed items", "CDATA, comments"],
)
def test_the_scan_reads_every_kind_of_feed(body: bytes, items: int) -> None:
    scan = scan_items(body)
    assert scan is not None
    assert len(scan.spans) == items


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE rss [<!ENTITY i "x">]><rss><channel><item>&i;</item></channel></rss>',
        b"<rss><channel><item><item>nested</item></item></channel></rss>",
        b"<feed><item>one</item><entry>other</entry></feed>",
        b"<rss><channel><item><title>cut short",
        b"<rss><channel></item></channel></rss>",
        "<rss><channel><item>x</item></channel></rss>".encode("utf-16"),
    ],
    ids=["a DOCTYPE", "nested items", "items and entries", "unclosed", "stray end", "UTF-16"],
)
def test_the_scan_gives_up_on_what_it_cannot_read_safely(body: bytes) -> None:
    assert scan_items(body) is None


# Bodies that would make a backtracking scan quadratic: tags that never close, unterminated
# quotes, CDATA and comments, many "<". Run in a child so that a regression fails the test
# (at HANG_LIMIT_SECONDS, far beyond the fraction of a second a linear scan takes) instead
# of hanging the suite.
HOSTILE_SCAN = """
from bot.ingest.incremental import scan_items
bodies = [
    b"<item " * 400_000,
    b"<rss><channel>" + b"<item a='x" * 300_000,
    b"<rss>" + b"<![CDATA[ ]]" * 300_000,
    b"<rss>" + b"<!-- -" * 300_000,
    b"<rss>" + b"<x" * 1_000_000 + b"<item>a</item></rss>",
]
print([None if scan is None else len(scan.spans) for scan in map(scan_items, bodies)])
"""
HANG_LIMIT_SECONDS = 60


def test_hostile_bodies_are_scanned_in_one_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOSTILE_SCAN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_LIMIT_SECONDS,
        check=True,
    )
    assert done.stdout.split() == ["[0,", "0,", "None,", "None,", "1]"]


def known_from(body: bytes) -> KnownItems:
    scan = scan_items(body)
    assert scan is not None
    return KnownItems(b"", None, None, frozenset(scan.fingerprints), 0.0, item_sizes(scan.spans))


class TokenSpy:
    """The scan's token pattern, noting where each token it finds starts."""

    def __init__(self) -> None:
        self.starts: list[int] = []

    def finditer(self, body: bytes, position: int = 0) -> Iterator[re.Match[bytes]]:
        for match in TOKEN.finditer(body, position):
            self.starts.append(match.start())
            yield match


TOKEN = incremental._TOKEN


def test_known_items_are_taken_whole_without_reading_them(monkeypatch: pytest.MonkeyPatch) -> None:
    known = known_from(rss_body(range(3, 53)))
    body = rss_body(range(1, 51))  # two new items, then 48 known ones side by side
    spy = TokenSpy()
    monkeypatch.setattr(incremental, "_TOKEN", spy)

    scan = scan_items(body, known)

    assert scan is not None
    new_items = scan.spans[:2]
    read = [start for start in spy.starts if start < new_items[-1][1]]
    assert scan.spans[2][0] in spy.starts, "the first known item's tag is found"
    assert spy.starts[len(read) + 1 :] == [], "and nothing inside the known items after it"
    monkeypatch.setattr(incremental, "_TOKEN", TOKEN)
    assert scan == scan_items(body)


def test_a_removed_or_edited_known_item_costs_a_guess_not_the_rest() -> None:
    before = rss_body(range(1, 11))
    edited = [story_item(n) for n in range(1, 11) if n != 4]
    edited[5] = story_item(7, description="<p>Corrected.</p>")
    body = rss(edited, title="World Desk").encode()
    known, spy = known_from(before), TokenSpy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(incremental, "_TOKEN", spy)
        scan = scan_items(body, known)
    assert scan == scan_items(body)
    item_tags = [start for start in spy.starts if body.startswith(b"<item>", start)]
    # Found: the first item's tag, the edited one's (read whole) and the next one's; the
    # others come after a known item, side by side, taken whole.
    assert len(item_tags) == 3


ITEM = b"<item><title>known</title><description>text</description></item>"


@pytest.mark.parametrize(
    ("body", "items"),
    [
        (b"<rss><channel>" + ITEM + ITEM + b"</channel></rss>", 2),
        (b"<rss><channel><![CDATA[" + ITEM + b"]]>" + ITEM + b"</channel></rss>", 1),
        (b"<rss><channel><!-- " + ITEM + b" -->" + ITEM + b"</channel></rss>", 1),
        (b"<rss><channel><x a='" + ITEM + b"'/></channel></rss>", 1),
        (b"<rss><channel><item>" + ITEM + b"</item></channel></rss>", None),
        (b"<rss><channel><![CDATA[ " + ITEM + b"</channel></rss>", None),
        (b"<rss><channel>" + ITEM + b"<entry>new</entry></channel></rss>", None),
        (b"<rss><channel>" + ITEM[:-1] + b"</channel></rss>", None),
        (b"<rss><channel>" + ITEM + b"</item></channel></rss>", None),
    ],
    ids=[
        "side by side",
        "inside CDATA",
        "inside a comment",
        "inside an attribute value",
        "inside an item",
        "after an unterminated CDATA",
        "beside another kind",
        "cut short",
        "before a stray end tag",
    ],
)
def test_known_items_are_taken_only_where_the_scan_would_find_them(
    body: bytes, items: int | None
) -> None:
    known = known_from(b"<rss><channel>" + ITEM + b"</channel></rss>")
    scan = scan_items(body, known)
    assert scan == scan_items(body)
    assert (len(scan.spans) if scan is not None else None) == items


@pytest.mark.parametrize(
    "known_body",
    [
        b"<rss><channel><rss:item>known</rss:item><item/></channel></rss>",
        b"<feed><entry>known</entry><entry xml:lang='en'>other</entry></feed>",
        b"<rss><channel><item>a</item><item>" + b"b" * 5000 + b"</item></channel></rss>",
    ],
    ids=["prefixed and self-closing", "entries", "an item longer than the body"],
)
def test_known_items_of_any_kind_and_size_give_what_a_plain_scan_gives(known_body: bytes) -> None:
    known = known_from(known_body)
    for body in (
        known_body,
        known_body.replace(b"known", b"edited"),
        b"<rss><channel><item>new</item><item>a</item></channel></rss>",
        b"<rss><channel><rss:item>known</rss:item></channel></rss>",
        b"<feed><entry>new</entry><entry>known</entry></feed>",
        b"",
    ):
        assert scan_items(body, known) == scan_items(body)


def test_a_response_digest_covers_url_parser_headers_and_body() -> None:
    body = rss_body([1])
    same = response_digest(URL, {"Content-Type": HEADERS["content-type"], "Date": "x"}, body)
    assert response_digest(URL, HEADERS, body) == same, "only the headers the parser reads"
    assert response_digest(URL + "?v=2", HEADERS, body) != same
    assert response_digest(URL, {"content-type": "text/xml; charset=koi8-r"}, body) != same
    assert response_digest(URL, HEADERS, body + b" ") != same


# ---- parsing only what is new ----


def test_a_feed_that_gained_an_item_parses_only_that_item() -> None:
    before = prepare(rss_body(range(2, 52)))
    assert before.items is not None
    assert before.parsed_entries == 50

    body = rss_body(range(1, 51))  # story 1 arrives, story 51 drops off the end
    incremental_poll = prepare(body, before.items)

    assert (incremental_poll.parsed_entries, incremental_poll.skipped_items) == (1, 49)
    assert [s.story.title for s in incremental_poll.stories] == ["Story 1"]
    assert new_to(incremental_poll.stories, before) == new_to(prepare(body).stories, before)
    assert (incremental_poll.title, incremental_poll.error) == ("World Desk", None)
    assert incremental_poll.items is not None
    assert len(incremental_poll.items.fingerprints) == 50


def test_an_edited_item_is_parsed_again() -> None:
    before = prepare(rss_body([1, 2, 3]))
    edited = [story_item(1), story_item(2, description="<p>Corrected summary.</p>"), story_item(3)]
    body = rss(edited, title="World Desk").encode()

    after = prepare(body, before.items)

    assert after.parsed_entries == 1
    [story] = after.stories
    assert story.story.key == "urn:test:2"
    assert story.story.summary == "Corrected summary."
    assert fields(after.stories) == fields(prepare(body).stories[1:2])


def test_a_feed_with_nothing_new_is_no_error_and_still_gives_its_title_and_ttl() -> None:
    before = prepare(rss_body([1, 2], ttl=30))
    again = prepare(rss_body([1, 2], ttl=45), before.items)
    assert (again.stories, again.error, again.parsed_entries) == ((), None, 0)
    assert (again.title, again.ttl_minutes) == ("World Desk", 45)


def test_duplicate_guids_keep_the_first_as_a_full_parse_does() -> None:
    before = prepare(rss_body([5]))
    twice = [
        replace_title(story_item(1), "First telling"),
        replace_title(story_item(1), "Second telling"),
        story_item(5),
    ]
    body = rss(twice, title="World Desk").encode()
    after = prepare(body, before.items)
    assert [s.story.title for s in after.stories] == ["First telling"]
    assert new_to(after.stories, before) == new_to(prepare(body).stories, before)


def replace_title(entry: Item, title: str) -> Item:
    return Item(**{**entry, "title": title})


def _broken_item_body() -> bytes:
    body = rss_body([1, 2, 3])
    return body.replace(b"Summary of story 1.", b"Summary &nbsp; of story 1.")


@pytest.mark.parametrize(
    ("make_body", "url"),
    [
        (_broken_item_body, URL),
        (lambda: rss_body([1, 2, 3], link="https://elsewhere.example/"), URL),
        (lambda: rss_body([1, 2, 3], language="de"), URL),
        (
            lambda: rss_body([1, 2, 3]).replace(b"<rss ", b'<rss xml:base="https://b.example/" '),
            URL,
        ),
        (lambda: rss_body([1, 2, 3]), "https://news.example/moved.xml"),
    ],
    ids=[
        "a new item feedparser finds broken",
        "another feed link",
        "another language",
        "other markup around the items",
        "another URL",
    ],
)
def test_anything_odd_is_parsed_in_full_with_the_full_result(make_body: object, url: str) -> None:
    before = prepare(rss_body([2, 3]))
    assert before.items is not None
    body = make_body()  # type: ignore[operator]

    after = prepare(body, before.items, url=url)
    full = prepare(body, url=url)

    assert after.parsed_entries == full.parsed_entries == 3
    assert after.skipped_items == 0
    assert fields(after.stories) == fields(full.stories)
    assert (after.title, after.error, after.ttl_minutes) == (
        full.title,
        full.error,
        full.ttl_minutes,
    )


def test_a_feed_is_parsed_in_full_at_least_once_a_day() -> None:
    before = prepare(rss_body([2, 3]))
    assert before.items is not None
    body = rss_body([1, 2, 3])
    assert prepare(body, before.items).parsed_entries == 1
    stale = replace(before.items, since=before.items.since - KNOWN_ITEMS_MAX_AGE)
    refreshed = prepare(body, stale)
    assert refreshed.parsed_entries == 3
    assert refreshed.items is not None
    assert refreshed.items.since == NOW.timestamp(), "a full parse starts the day again"


def test_more_items_than_a_parse_keeps_are_always_parsed_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(incremental, "MAX_ENTRIES", 2)
    assert prepare(rss_body([1, 2, 3])).items is None
    assert prepare(rss_body([1, 2])).items is not None


# ---- the whole corpus: items removed, then added back ----


def corpus_files() -> list[Path]:
    return [
        path
        for folder in (corpus.REAL, corpus.ILLFORMED)
        if folder.is_dir()
        for path in sorted(folder.iterdir())
    ]


def _cut(body: bytes, spans: Sequence[tuple[int, int]], drop: set[int]) -> bytes:
    pieces, position = [], 0
    for number, (begin, end) in enumerate(spans):
        if number in drop:
            pieces.append(body[position:begin])
            position = end
    pieces.append(body[position:])
    return b"".join(pieces)


@pytest.mark.skipif(not corpus_files(), reason="feed corpus not present")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_new_items_of_every_corpus_feed_give_the_stories_a_full_parse_gives(path: Path) -> None:
    raw = path.read_bytes()
    now = time.time()
    full = prepare_feed(7, raw, {}, URL, now)
    scan = scan_items(raw)  # where to cut: in the bytes as served, whatever their charset
    count = len(scan.spans) if scan is not None else 0
    # Items removed (the newest two, one in the middle, the last, none), polled, then added
    # back.
    drops = [{0, 1} & set(range(count)), {count // 2}, {count - 1}, set()] if count else [set()]
    for drop in drops:
        smaller = _cut(raw, scan.spans, drop) if scan is not None else raw
        earlier = prepare_feed(7, smaller, {}, URL, now, TextFor.NONE)  # its keys suffice
        later = prepare_feed(7, raw, {}, URL, now, TextFor.ALL, earlier.items)
        assert (later.title, later.ttl_minutes, later.error) == (
            full.title,
            full.ttl_minutes,
            full.error,
        )
        if full.items is None:
            # Broken or unusual: parsed in full every time, exactly as without known items.
            assert later.skipped_items == 0
            assert fields(later.stories) == fields(full.stories)
            break
        assert earlier.items is not None, "removing items keeps a clean feed clean"
        assert later.parsed_entries <= len(drop)
        assert later.parsed_entries + later.skipped_items == count
        assert new_to(later.stories, earlier) == new_to(full.stories, earlier)


@pytest.mark.skipif(not corpus.REAL.is_dir(), reason="feed corpus not present")
def test_real_rss_atom_and_rdf_feeds_are_read_incrementally() -> None:
    names = {path.name for path in corpus_files() if path.parent == corpus.REAL}
    for kind in ("-rss-", "-atom-", "-rdf-", "-rss090-"):
        readable = any(
            prepare_feed(7, (corpus.REAL / name).read_bytes(), {}, URL, 0, TextFor.NONE).items
            for name in sorted(names)
            if kind in name
        )
        assert readable, f"no {kind.strip('-')} feed of the corpus is read incrementally"


# ---- through the poller ----


parsers = pytest.fixture(scope="module", name="parsers")(counting_parsers)


@pytest.fixture
async def h(tmp_path: Path, parsers: CountingPool) -> AsyncIterator[Harness]:
    async with harness_for(tmp_path, parsers) as harness:
        yield harness


def ignore_conditional_get(h: Harness, path: str) -> None:
    """Serve the feed's items with no validators: every poll gets a full 200."""
    h.server.set_feed(path, rss(h.items[path], title="World Desk"), etag=None, last_modified=None)


async def test_the_same_body_again_is_not_parsed_and_the_feed_stays_healthy(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(1, "Ukraine talks resume"))
    ignore_conditional_get(h, "/world.xml")
    feed = await h.add("/world.xml")
    await h.poll()
    stored = await h.feed(feed.id)
    assert stored.body_digest is not None
    parses = h.parsers.runs

    [report] = (await h.poll_after()).values()

    assert report.status == "unchanged"
    assert h.parsers.runs == parses, "not handed to a parser"
    assert h.server.hits("/world.xml") == 2, "fetched, in full"
    after = await h.feed(feed.id)
    assert (after.failures, after.last_error, after.entries_seen) == (0, None, 1)
    assert after.last_ok_at == pytest.approx(h.clock())
    assert after.next_poll_at == pytest.approx(h.clock() + INTERVAL)

    h.publish("/world.xml", h.fresh(2, "Ukraine: a second round"))
    ignore_conditional_get(h, "/world.xml")
    [report] = (await h.poll_after()).values()
    assert (report.status, report.new_stories, report.matched) == ("ok", 1, 1)


async def test_the_same_body_from_another_url_is_parsed(h: Harness) -> None:
    # Relative links resolve against the URL the body came from: it is part of the identity.
    body = rss([h.fresh(1, "Primer")], title="World Desk", link="/")
    for path in ("/a/feed.xml", "/b/feed.xml"):
        h.server.set_feed(path, body, etag=None, last_modified=None)
    h.server.set_fault("/world.xml", redirect_to="/a/feed.xml", status=302)
    feed = await h.add("/world.xml")
    await h.poll()
    [again] = (await h.poll_after()).values()
    assert again.status == "unchanged"

    h.server.set_fault("/world.xml", redirect_to="/b/feed.xml", status=302)
    [moved] = (await h.poll_after()).values()

    assert (moved.status, moved.parsed_entries) == ("ok", 1)
    assert (await h.feed(feed.id)).url == h.server.url("/world.xml")


async def test_a_body_that_failed_is_parsed_again_when_it_comes_again(h: Harness) -> None:
    h.server.set_feed("/world.xml", "<rss><channel><item>", etag=None, last_modified=None)
    feed = await h.add("/world.xml")
    parses = h.parsers.runs
    for failures in (1, 2):
        [report] = (await h.poll_after(INTERVAL * failures)).values()
        assert report.status == "error"
        assert (await h.feed(feed.id)).failures == failures
    assert h.parsers.runs == parses + 2
    assert (await h.feed(feed.id)).body_digest is None


async def test_a_body_whose_save_failed_is_stored_when_it_comes_again(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(0, "Primer"))
    ignore_conditional_get(h, "/world.xml")
    await h.add("/world.xml")
    await h.poll()
    titles = [f"Ukraine talks resume, round {n}" for n in range(1, 41)]
    h.publish("/world.xml", *(h.fresh(n, title) for n, title in enumerate(titles, start=1)))
    ignore_conditional_get(h, "/world.xml")
    async with full_disk(h.storage):
        [failed] = (await h.poll_after()).values()
        assert failed.status == "error"

    [recovered] = (await h.poll_after()).values()

    assert (recovered.status, recovered.new_stories) == ("ok", len(titles))
    assert sorted(title for _, _, title in h.outbox()) == sorted(titles)


async def test_a_new_item_is_the_only_one_parsed_and_alerts_as_before(h: Harness) -> None:
    h.publish("/world.xml", *(h.fresh(n, f"Weather report {n}") for n in range(2, 12)))
    feed = await h.add("/world.xml")
    [first] = (await h.poll()).values()
    assert first.parsed_entries == 10

    h.publish("/world.xml", h.fresh(1, "Ukraine talks resume"))
    [report] = (await h.poll_after()).values()

    assert (report.status, report.parsed_entries, report.new_stories) == ("ok", 1, 1)
    assert h.outbox() == [(ANN, "alert", "Ukraine talks resume")]
    assert (await h.feed(feed.id)).entries_seen == 11


async def test_an_edited_item_is_parsed_again_and_not_alerted_again(h: Harness) -> None:
    h.publish("/world.xml", h.fresh(1, "Primer"))
    await h.add("/world.xml")
    await h.poll()
    h.publish("/world.xml", h.fresh(2, "Football: the cup final"))
    await h.poll_after()
    assert h.outbox() == [(CAROL, "alert", "Football: the cup final")]

    edited = h.items["/world.xml"][0]
    edited["description"] = "<p>Football: the cup final, with the score.</p>"
    h.publish("/world.xml")
    [report] = (await h.poll_after()).values()

    assert (report.status, report.parsed_entries, report.new_stories) == ("ok", 1, 0)
    assert h.outbox() == [(CAROL, "alert", "Football: the cup final")]


async def test_after_a_restart_the_first_poll_parses_in_full_once(h: Harness) -> None:
    h.publish("/world.xml", *(h.fresh(n, f"Weather report {n}") for n in range(3, 8)))
    await h.add("/world.xml")
    await h.poll()
    h.publish("/world.xml", h.fresh(2, "Weather report 2"))
    [report] = (await h.poll_after()).values()
    assert report.parsed_entries == 1

    fetcher = Fetcher(limits=LIMITS)
    h.poller = ann_poller(h, fetcher)  # a new process: the same database, nothing in memory
    try:
        h.publish("/world.xml", h.fresh(1, "Ukraine talks resume"))
        [full] = (await h.poll_after()).values()
        assert (full.parsed_entries, full.new_stories, full.matched) == (7, 1, 1)
        h.publish("/world.xml", h.fresh(0, "Weather report 0"))
        [report] = (await h.poll_after()).values()
        assert (report.parsed_entries, report.new_stories) == (1, 1)
    finally:
        await fetcher.aclose()
