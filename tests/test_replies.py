"""Replies to subscribers and admins are valid Telegram HTML within limits, whatever users type."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import admin_text, replies
from bot.formatting import TELEGRAM_TEXT_LIMIT, split_message, visible_length
from bot.storage import Feed
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
