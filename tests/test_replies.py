"""Replies to subscribers and admins are valid Telegram HTML within limits, whatever users type."""

import re
from html import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.check import report as check_report
from bot.i18n import tn
from bot.ingest.prepare import PreparedFeed
from bot.ingest.stories import story_from_entry
from bot.render import admin as admin_text
from bot.render import replies
from bot.render.html import TELEGRAM_TEXT_LIMIT, _TextCollector, split_message, visible_length
from bot.render.outbox import render_all
from bot.storage import ChatStatus, Feed, OutboxItem, Stats, StoryToSave
from bot.text.analyzer import plain
from tests.test_formatting import assert_valid_telegram_html

_user_text = st.text(max_size=120)
_displays = st.lists(_user_text, max_size=20)


def _assert_sendable(html: str) -> None:
    for part in split_message(html):
        assert_valid_telegram_html(part)
        assert 0 < visible_length(part) <= TELEGRAM_TEXT_LIMIT


@settings(max_examples=200)
@given(_displays, _displays, _displays, st.lists(st.tuples(_user_text, _user_text), max_size=20))
def test_subscribe_report_is_always_sendable(
    added: list[str], existing: list[str], over: list[str], invalid: list[tuple[str, str]]
) -> None:
    report = replies.subscribe_report(added, existing, over, invalid, limit=50)
    if report:
        _assert_sendable(report)


@settings(max_examples=200)
@given(st.lists(_user_text, max_size=60), st.booleans())
def test_subscription_list_is_always_sendable(displays: list[str], paused: bool) -> None:
    _assert_sendable(replies.subscription_list(displays, paused))


@given(_displays, _displays)
def test_unsubscribe_report_is_always_sendable(removed: list[str], missing: list[str]) -> None:
    report = replies.unsubscribe_report(removed, missing)
    if report:
        _assert_sendable(report)


@given(st.text(max_size=64))
def test_welcome_is_always_sendable(name: str) -> None:
    _assert_sendable(replies.welcome(name, 3))


@settings(max_examples=100)
@given(st.lists(st.tuples(_user_text, st.text(max_size=300), st.text(max_size=200)), max_size=40))
def test_feed_list_is_always_sendable(feeds: list[tuple[str, str, str]]) -> None:
    records = [
        Feed(n, url, title, False, True, None, None, 0.0, None, None, n % 3, error, 5)
        for n, (title, url, error) in enumerate(feeds, 1)
    ]
    for message in admin_text.feed_list(records, now=1000.0):
        _assert_sendable(message)


def test_fifty_longest_subscriptions_list_in_several_messages() -> None:
    displays = [f"{n:02d} " + "x" * 97 for n in range(50)]
    parts = split_message(replies.subscription_list(displays, paused=False))
    assert len(parts) == 2
    assert sum(part.count(" " + "x" * 97) for part in parts) == 50
    for part in parts:
        assert visible_length(part) <= TELEGRAM_TEXT_LIMIT


@pytest.mark.parametrize(
    ("lines", "expected_parts"),
    [(["a" * 4096], 1), (["a" * 2048, "b" * 2047], 1), (["a" * 2048, "b" * 2048], 2)],
    ids=["one line at the limit", "two lines at the limit", "one past the limit"],
)
def test_split_message_boundary(lines: list[str], expected_parts: int) -> None:
    parts = split_message("\n".join(lines))
    assert len(parts) == expected_parts
    assert all(visible_length(part) <= TELEGRAM_TEXT_LIMIT for part in parts)


def _counted_texts(count: int) -> list[str]:
    """Every text that renders a count next to its noun, for that count."""
    feed = Feed(
        1,
        "https://x.example/rss",
        "X",
        False,
        True,
        None,
        None,
        0.0,
        None,
        None,
        count,
        "timeout",
        5,
    )
    figures = Stats({"active": count}, count, [], count, 0, count, count, 0, None)
    digest_row = OutboxItem(
        1, "digest", 7, ChatStatus.ACTIVE, (), 0, "pending", "T", None, None, None, "X", None
    )
    story = StoryToSave(
        story_from_entry(0, "g", None, "Ukraine", None, None), plain(("ukraine",)), True
    )
    stories = PreparedFeed("Local", None, None, (story,) * max(count, 1))
    return [
        replies.welcome("Ann", count) if count else "",
        replies.confirm_remove_all(count),
        replies.removed_all(count) if count else "",
        replies.paused(count),
        replies.subscribe_report([], [], ["x"], [], limit=count),
        replies.too_many_at_once(count, 1),
        admin_text.feed_added("X", feed.url, count, None),
        "\n".join(admin_text.feed_list([feed], now=0.0)) if count else "",
        admin_text.stats(figures, now=0.0, started_at=0.0, version="1"),
        "\n".join(message.text for message in render_all([digest_row] * max(count, 1))),
        check_report(stories if count else PreparedFeed("Local", None, None, ()), []),
    ]


@pytest.mark.parametrize(
    ("count", "expected", "wrong"),
    [
        (
            0,
            ["0 subscriptions", "0 entries now", "0 stories seen", "0 alerts sent", "of 0 entries"],
            [],
        ),
        (
            1,
            [
                "You have 1 subscription:",
                "Remove all 1 subscription?",
                "Removed all 1 subscription.",
                "Your 1 subscription will be kept",
                "limit of 1 subscription:",
                "1 entry now",
                "1 failure in a row",
                "1 story seen",
                "1 alert sent",
                "…and 1 more new story matching",
                "0 of 1 entry in Local",
            ],
            [r"\b1 (subscriptions|entries|failures|stories|alerts|more new stories)\b"],
        ),
        (
            2,
            [
                "You have 2 subscriptions:",
                "Remove all 2 subscriptions?",
                "Removed all 2 subscriptions.",
                "Your 2 subscriptions will be kept",
                "limit of 2 subscriptions:",
                "2 entries now",
                "2 failures in a row",
                "2 stories seen",
                "2 alerts sent",
                "…and 2 more new stories matching",
                "That is 2 subscriptions at once",
                "0 of 2 entries in Local",
            ],
            [r"\b2 (subscription|entry|failure|story|alert|more new story)\b"],
        ),
    ],
)
def test_counts_agree_with_their_nouns(count: int, expected: list[str], wrong: list[str]) -> None:
    texts = "\n".join(_counted_texts(count))
    for phrase in expected:
        assert phrase in texts
    for pattern in wrong:
        assert re.search(pattern, texts) is None, re.search(pattern, texts)


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 alerts sent"), (1, "1 alert sent"), (2, "2 alerts sent")]
)
def test_plurals_use_the_singular_only_for_one(count: int, text: str) -> None:
    assert tn("{n} alert sent", "{n} alerts sent", count) == text
    seen = tn("{n} story seen", "{n} stories seen", count)
    assert seen.endswith("story seen" if count == 1 else "stories seen")


def _visible_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return "".join(collector.parts)


def _without_spaces(text: str) -> str:
    return "".join(char for char in text if not char.isspace())


_visible_chars = st.characters(blacklist_categories=("Cs", "Cc"))
_segment = st.tuples(
    st.text(_visible_chars, min_size=1, max_size=30),
    st.sampled_from(["", "b", "i", "a"]),
    st.sampled_from(["", " "]),
)


def _line_of(segments: list[tuple[str, str, str]]) -> str:
    parts = []
    for text, tag, space in segments:
        shown = escape(text)
        if tag == "a":
            shown = f'<a href="https://x.example/?q=1&amp;r=2">{shown}</a>'
        elif tag:
            shown = f"<{tag}>{shown}</{tag}>"
        parts.append(shown + space)
    return "".join(parts)


@settings(max_examples=300)
@given(st.lists(_segment, min_size=1, max_size=60), st.integers(min_value=2, max_value=120))
def test_a_single_huge_line_is_split_into_valid_messages(
    segments: list[tuple[str, str, str]], limit: int
) -> None:
    line = _line_of(segments)
    parts = split_message(line, limit)
    for part in parts:
        assert_valid_telegram_html(part)
        assert 0 < visible_length(part) <= limit
    # Nothing is lost or repeated; only the spaces where a line was cut go.
    assert _without_spaces("".join(map(_visible_text, parts))) == _without_spaces(
        _visible_text(line)
    )


def test_feed_list_with_a_huge_url_fits_and_keeps_the_url() -> None:
    url = "https://feeds.example/rss?" + "&".join(f"tag{n}=v" for n in range(2000))
    feed = Feed(1, url, "Huge", False, True, None, None, 0.0, None, None, 0, None, 5)
    parts = admin_text.feed_list([feed], now=1000.0)
    assert len(parts) >= 4
    for part in parts:
        assert_valid_telegram_html(part)
        assert 0 < visible_length(part) <= TELEGRAM_TEXT_LIMIT
    assert url in "".join(map(_visible_text, parts)).replace("\n", "")


def test_a_long_line_of_words_is_cut_between_words() -> None:
    line = "<b>" + " ".join(f"word{n}" for n in range(3000)) + "</b>"
    parts = split_message(line)
    # Packed: each message but the last is full up to a word that would not fit.
    assert all(visible_length(part) > TELEGRAM_TEXT_LIMIT - 10 for part in parts[:-1])
    words = [word for part in parts for word in _visible_text(part).split()]
    assert words == [f"word{n}" for n in range(3000)]
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        assert visible_length(part) <= TELEGRAM_TEXT_LIMIT
