"""Tests for bot.render.alerts and bot.render.html: escaping, layout and Telegram's length limit."""

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.alerts import (
    Alert,
    format_alert,
    format_alert_plain,
    format_digest,
    format_time,
)
from bot.render.html import TELEGRAM_TEXT_LIMIT, escape, shorten, utf16_len, visible_length

PUBLISHED = datetime(2026, 11, 25, 9, 14, tzinfo=UTC)
LINK = "https://example.com/a?x=1&y=2"

# Tags and entities Telegram's HTML parse mode accepts (Bot API, "HTML style").
ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
        "a", "code", "pre", "blockquote", "tg-spoiler",
    }
)  # fmt: skip
_TAG = re.compile(r'<(/?)([a-z-]+)(?: href="([^"<>]*)")?>')
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_SPECIAL = re.compile(r"[<>&]")


def _assert_valid_text(text: str) -> None:
    for match in _SPECIAL.finditer(text):
        assert match.group() == "&", f"bare {match.group()!r} at {match.start()}"
        assert _ENTITY.match(text, match.start()), f"bad entity at {match.start()}"


def assert_valid_telegram_html(html: str) -> None:
    """Fail unless Telegram would parse html: known tags, balanced, known entities only."""
    stack: list[str] = []
    position = 0
    while (special := _SPECIAL.search(html, position)) is not None:
        start = special.start()
        if special.group() == "&":
            entity = _ENTITY.match(html, start)
            assert entity, f"bad entity at {start}: {html[start : start + 12]!r}"
            position = entity.end()
            continue
        tag = _TAG.match(html, start)
        assert tag, f"bare {special.group()!r} at {start}: {html[start : start + 12]!r}"
        closing, name, href = tag.groups()
        assert name in ALLOWED_TAGS, f"tag {name!r} not allowed"
        if closing:
            assert href is None, "attributes on a closing tag"
            assert stack and stack[-1] == name, f"</{name}> does not close {stack}"
            stack.pop()
        else:
            assert (href is not None) == (name == "a"), f"<{name}> attributes are wrong"
            assert name not in stack, f"<{name}> nested in itself"
            if href is not None:
                _assert_valid_text(href)
            stack.append(name)
        position = tag.end()
    assert not stack, f"unclosed tags {stack}"


def assert_fits(html: str) -> None:
    assert_valid_telegram_html(html)
    assert visible_length(html) <= TELEGRAM_TEXT_LIMIT


def make_alert(**changes: object) -> Alert:
    fields: dict[str, object] = {
        "title": "Talks resume",
        "link": LINK,
        "source": "BBC News",
        "published": PUBLISHED,
        "summary": "Negotiators met in Geneva.",
        "matched": ("Ukraine", "NATO"),
    }
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


# -- the validator itself --------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("plain", id="plain"),
        pytest.param("<b>a</b> &lt;&gt;&amp;&quot;&#39;&#x1F600;", id="entities"),
        pytest.param('<a href="https://x.y/?a=1&amp;b=2">t</a>', id="nested-link"),
        pytest.param("", id="empty"),
    ],
)
def test_validator_accepts(html: str) -> None:
    assert_valid_telegram_html(html)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("a < b", id="bare-lt"),
        pytest.param("a > b", id="bare-gt"),
        pytest.param("a & b", id="bare-amp"),
        pytest.param("&nbsp;", id="unknown-entity"),
        pytest.param("<p>x</p>", id="unknown-tag"),
        pytest.param("<b>x", id="unclosed"),
        pytest.param("<b><i>x</b></i>", id="crossed"),
        pytest.param('<b href="x">y</b>', id="attribute-on-b"),
        pytest.param("<a>x</a>", id="link-without-href"),
        pytest.param('<a href="a&b">x</a>', id="bare-amp-in-href"),
        pytest.param('<a href="x"><a href="y">z</a></a>', id="link-in-link"),
    ],
)
def test_validator_rejects(html: str) -> None:
    with pytest.raises(AssertionError):
        assert_valid_telegram_html(html)


# -- small helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("abc", 3, id="ascii"),
        pytest.param("é€", 2, id="bmp"),
        pytest.param("😀", 2, id="emoji-outside-bmp"),
        pytest.param("👍🏽", 4, id="emoji-with-skin-tone"),
        pytest.param("\ud800", 1, id="lone-surrogate"),
    ],
)
def test_utf16_len(text: str, expected: int) -> None:
    assert utf16_len(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a < b & c > d", "a &lt; b &amp; c &gt; d", id="angles-and-amp"),
        pytest.param('say "hi"', "say &quot;hi&quot;", id="double-quote"),
        pytest.param("it's", "it's", id="single-quote-untouched"),
        pytest.param("&amp;", "&amp;amp;", id="already-escaped-is-text"),
        pytest.param("😀", "😀", id="emoji"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<b>abc</b>", 3, id="tags-free"),
        pytest.param("&lt;&amp;&quot;", 3, id="entity-is-one"),
        pytest.param('<a href="https://very.long/url">x</a>', 1, id="href-free"),
        pytest.param("😀&#x1F600;", 4, id="emoji-utf16"),
    ],
)
def test_visible_length(html: str, expected: int) -> None:
    assert visible_length(html) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("short", 10, "short", id="fits"),
        pytest.param("exactly", 7, "exactly", id="exact-fit"),
        pytest.param("the quick brown fox", 12, "the quick…", id="word-boundary"),
        pytest.param("abcdefghij", 5, "abcd…", id="no-boundary-hard-cut"),
        pytest.param("a bcdefghijklmnop", 8, "a bcdef…", id="boundary-too-early"),
        pytest.param("😀😀😀", 4, "😀…", id="never-splits-a-surrogate-pair"),
        pytest.param("anything", 0, "", id="zero"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


@pytest.mark.parametrize(
    ("moment", "tz", "expected"),
    [
        pytest.param(PUBLISHED, UTC, "25 Nov 2026, 09:14 UTC", id="utc"),
        pytest.param(PUBLISHED.replace(day=5), UTC, "5 Nov 2026, 09:14 UTC", id="day-not-padded"),
        pytest.param(
            PUBLISHED,
            timezone(timedelta(hours=2), "EET"),
            "25 Nov 2026, 11:14 EET",
            id="other-zone",
        ),
        pytest.param(
            PUBLISHED.replace(tzinfo=None), UTC, "25 Nov 2026, 09:14 UTC", id="naive-is-utc"
        ),
        pytest.param(
            datetime(1, 1, 1, tzinfo=UTC),
            timezone(timedelta(hours=-5)),
            "1 Jan 1, 00:00 UTC",
            id="calendar-edge",
        ),
    ],
)
def test_format_time(moment: datetime, tz: timezone, expected: str) -> None:
    assert format_time(moment, tz) == expected


# -- alerts ----------------------------------------------------------------------------


def test_format_alert_full_layout() -> None:
    assert format_alert(make_alert()) == (
        '<a href="https://example.com/a?x=1&amp;y=2">Talks resume</a>\n'
        "BBC News · 25 Nov 2026, 09:14 UTC\n"
        "\n"
        "Negotiators met in Geneva.\n"
        "\n"
        "Matched: Ukraine, NATO"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"summary": None},
            f'<a href="{escape(LINK)}">Talks resume</a>\n'
            "BBC News · 25 Nov 2026, 09:14 UTC\n\nMatched: Ukraine, NATO",
            id="no-summary-no-blank-line",
        ),
        pytest.param(
            {"summary": "  \n "},
            f'<a href="{escape(LINK)}">Talks resume</a>\n'
            "BBC News · 25 Nov 2026, 09:14 UTC\n\nMatched: Ukraine, NATO",
            id="blank-summary-is-none",
        ),
        pytest.param(
            {"published": None, "summary": None, "matched": ()},
            f'<a href="{escape(LINK)}">Talks resume</a>\nBBC News',
            id="no-time-no-matches",
        ),
        pytest.param(
            {"source": "", "published": None, "summary": None, "matched": (), "link": None},
            "Talks resume",
            id="title-only-no-anchor",
        ),
        pytest.param(
            {"link": "javascript:alert(1)", "summary": None, "matched": ()},
            "Talks resume\nBBC News · 25 Nov 2026, 09:14 UTC\njavascript:alert(1)",
            id="non-http-link-shown-as-text",
        ),
        pytest.param(
            {"link": "https://example.com/a b", "published": None, "summary": None},
            "Talks resume\nBBC News\nhttps://example.com/a b\n\nMatched: Ukraine, NATO",
            id="link-with-space-not-linked",
        ),
        pytest.param(
            {"title": "  ", "link": None, "source": "", "published": None, "matched": ()},
            "(no title)\n\nNegotiators met in Geneva.",
            id="blank-title",
        ),
    ],
)
def test_format_alert_optional_parts(changes: dict[str, object], expected: str) -> None:
    html = format_alert(make_alert(**changes))
    assert html == expected
    assert_fits(html)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        pytest.param({"title": "1 < 2 & 3 > 2"}, ">1 &lt; 2 &amp; 3 &gt; 2</a>", id="title-lt-amp"),
        pytest.param({"title": 'He said "no"'}, ">He said &quot;no&quot;</a>", id="title-quotes"),
        pytest.param({"title": "Launch 🚀 today"}, ">Launch 🚀 today</a>", id="title-emoji"),
        pytest.param({"title": "<script>x</script>"}, "&lt;script&gt;x&lt;/script&gt;", id="tag"),
        pytest.param(
            {"link": 'https://e.com/?q="x"<y>'},
            'href="https://e.com/?q=&quot;x&quot;&lt;y&gt;"',
            id="href-escaped",
        ),
        pytest.param({"source": "R&D <Weekly>"}, "R&amp;D &lt;Weekly&gt; · ", id="source"),
        pytest.param({"summary": "a<b & c"}, "\n\na&lt;b &amp; c\n\n", id="summary"),
        pytest.param(
            {"matched": ('"AT&T"', "<x>")}, "Matched: &quot;AT&amp;T&quot;, &lt;x&gt;", id="m"
        ),
        pytest.param({"title": "Two\nlines"}, ">Two lines</a>", id="title-on-one-line"),
    ],
)
def test_format_alert_escapes_everything(changes: dict[str, object], fragment: str) -> None:
    html = format_alert(make_alert(**changes))
    assert fragment in html
    assert_fits(html)


def test_format_alert_many_matches_are_summarised() -> None:
    matched = tuple(f"topic{n}" for n in range(25))
    html = format_alert(make_alert(matched=matched))
    assert html.endswith("Matched: " + ", ".join(matched[:10]) + " and 15 more")


def test_format_alert_long_match_name_is_cut() -> None:
    html = format_alert(make_alert(matched=("x" * 500,)))
    assert html.endswith("Matched: " + "x" * 63 + "…")


def test_format_alert_uses_given_zone() -> None:
    html = format_alert(make_alert(), tz=timezone(timedelta(hours=-5), "EST"))
    assert "BBC News · 25 Nov 2026, 04:14 EST" in html


@pytest.mark.parametrize(
    "summary",
    [
        pytest.param("x" * 10_000, id="one-huge-word"),
        pytest.param("word " * 3_000, id="many-words"),
        pytest.param("😀" * 5_000, id="emoji-counted-in-utf16"),
        pytest.param("a & b < c " * 1_500, id="escapes-do-not-count"),
    ],
)
def test_format_alert_enormous_summary_is_cut_to_fit(summary: str) -> None:
    html = format_alert(make_alert(summary=summary))
    assert_fits(html)
    # Cut to the limit, give or take the last word and the odd surrogate pair.
    assert visible_length(html) >= TELEGRAM_TEXT_LIMIT - len("word ")
    assert html.endswith("…\n\nMatched: Ukraine, NATO")
    assert html.startswith(f'<a href="{escape(LINK)}">Talks resume</a>\n')


def test_format_alert_summary_without_spaces_fills_exactly() -> None:
    html = format_alert(make_alert(summary="x" * 10_000))
    assert visible_length(html) == TELEGRAM_TEXT_LIMIT


def test_format_alert_exactly_at_limit_is_untouched() -> None:
    fixed = visible_length(format_alert(make_alert(summary="")))
    summary = "y" * (TELEGRAM_TEXT_LIMIT - fixed - len("\n\n"))
    html = format_alert(make_alert(summary=summary))
    assert visible_length(html) == TELEGRAM_TEXT_LIMIT
    assert summary in html


def test_format_alert_one_over_limit_is_cut() -> None:
    fixed = visible_length(format_alert(make_alert(summary="")))
    summary = "y" * (TELEGRAM_TEXT_LIMIT - fixed - len("\n\n") + 1)
    html = format_alert(make_alert(summary=summary))
    assert visible_length(html) == TELEGRAM_TEXT_LIMIT
    assert summary not in html
    assert "y…" in html


def test_format_alert_huge_title_drops_summary_and_matches_first() -> None:
    html = format_alert(make_alert(title="t" * 10_000, matched=("m" * 50,) * 10))
    assert_fits(html)
    assert "Negotiators" not in html
    assert "Matched" not in html
    assert "t…</a>" in html


def test_format_alert_huge_everything_fits() -> None:
    alert = Alert(
        title="🚀" * 5_000,
        link="https://example.com/" + "p" * 10_000,
        source="s" * 10_000,
        published=PUBLISHED,
        summary="<&>" * 5_000,
        matched=tuple("q" * 100 for _ in range(1_000)),
    )
    assert_fits(format_alert(alert))


# -- plain text ------------------------------------------------------------------------


def test_format_alert_plain() -> None:
    assert format_alert_plain(make_alert(title="A <b> & c")) == (
        "A <b> & c\n"
        "BBC News · 25 Nov 2026, 09:14 UTC\n"
        "\n"
        "Negotiators met in Geneva.\n"
        "\n"
        "https://example.com/a?x=1&y=2\n"
        "Matched: Ukraine, NATO"
    )


def test_format_alert_plain_leaves_out_missing_parts() -> None:
    alert = make_alert(link=None, published=None, summary=None, matched=())
    assert format_alert_plain(alert) == "Talks resume\nBBC News"


# -- digests ---------------------------------------------------------------------------


def test_format_digest_small() -> None:
    items = [("First & best", "https://e.com/1"), ("Second", None), ("Third", "ftp://e.com/3")]
    assert format_digest(items, header="Today <3") == [
        '<b>Today &lt;3</b>\n1. <a href="https://e.com/1">First &amp; best</a>\n2. Second\n3. Third'
    ]


@pytest.mark.parametrize(
    ("items", "header", "expected"),
    [
        pytest.param([], "Nothing new", ["<b>Nothing new</b>"], id="header-only"),
        pytest.param([], "", [], id="nothing-at-all"),
        pytest.param([("A", None)], "", ["1. A"], id="no-header"),
        pytest.param([("", None)], "", ["1. (no title)"], id="blank-title"),
    ],
)
def test_format_digest_edges(
    items: list[tuple[str, str | None]], header: str, expected: list[str]
) -> None:
    assert format_digest(items, header=header) == expected


def test_format_digest_splits_many_items() -> None:
    items = [(f"Story number {n} " + "é" * 60, f"https://e.com/{n}") for n in range(500)]
    messages = format_digest(items, header="Digest")
    assert len(messages) > 1
    for message in messages:
        assert_fits(message)
    numbered = [line for message in messages for line in message.split("\n")[1:]]
    assert messages[0].startswith("<b>Digest</b>\n1. ")
    assert all(message.split("\n")[0] != "<b>Digest</b>" for message in messages[1:])
    joined = "\n".join(messages)
    assert joined.count("<a href=") == 500
    assert numbered[-1].startswith("500. ")


def test_format_digest_fills_messages() -> None:
    items = [("x" * 98, None)] * 200  # "NNN. " + 98: about 104 units a line
    messages = format_digest(items, header="")
    assert all(visible_length(message) > TELEGRAM_TEXT_LIMIT - 110 for message in messages[:-1])


def test_format_digest_shortens_a_huge_title() -> None:
    messages = format_digest([("w" * 10_000, "https://e.com/")], header="h" * 1_000)
    assert len(messages) == 1
    assert_fits(messages[0])
    assert "w…</a>" in messages[0]


# -- properties ------------------------------------------------------------------------

# Arbitrary text, sometimes repeated into something enormous, so limits are exercised
# without hypothesis generating megabytes character by character.
texts = st.one_of(
    st.text(),
    st.builds(
        lambda piece, times: piece * times, st.text(min_size=1, max_size=20), st.integers(1, 3_000)
    ),
)
links = st.one_of(
    st.none(),
    texts,
    st.builds(lambda path: "https://example.com/" + path, texts),
)
aware_times = st.datetimes(timezones=st.just(UTC))
alerts = st.builds(
    Alert,
    title=texts,
    link=links,
    source=texts,
    published=st.none() | aware_times | st.datetimes(),
    summary=st.none() | texts,
    matched=st.lists(texts, max_size=30).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(
    alerts, st.sampled_from([UTC, timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))])
)
def test_format_alert_is_always_valid_and_fits(alert: Alert, tz: timezone) -> None:
    assert_fits(format_alert(alert, tz=tz))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(texts, links), max_size=80), texts)
def test_format_digest_is_always_valid_and_fits(
    items: list[tuple[str, str | None]], header: str
) -> None:
    messages = format_digest(items, header=header)
    for message in messages:
        assert message
        assert_fits(message)
    assert sum(message.count("\n") + 1 for message in messages) >= len(items)
