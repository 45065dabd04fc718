"""A digest grouped by query and split within Telegram's limits, the first row always first."""

from dataclasses import replace

from bot.render.alerts import digest_pages
from bot.render.html import TELEGRAM_TEXT_LIMIT, visible_length
from bot.render.outbox import first_digest_message
from bot.storage import ChatStatus, ChatType, OutboxItem


def line(n: int, query: str, *, held: bool = True, title: str = "") -> OutboxItem:
    return OutboxItem(
        id=n,
        kind="digest",
        chat_id=1,
        chat_status=ChatStatus.ACTIVE,
        matched=(query,),
        attempts=0,
        status="pending",
        title=title or f"Story {n}",
        link=f"https://news.example/{n}",
        summary=None,
        published=None,
        source="Wire",
        broadcast_id=None,
        next_attempt_at=1000.0 if held else 0.0,
    )


def test_a_held_digest_is_grouped_by_query_with_the_first_rows_query_first() -> None:
    rows = [line(5, "Ukraine"), line(2, "NATO"), line(7, "Ukraine"), line(3, "Brussels")]
    message, carried = first_digest_message(rows)
    assert [row.id for row in carried] == [5, 7, 3, 2]
    assert message.text.splitlines() == [
        "<b>Your digest: 4 new stories matching your subscriptions:</b>",
        "<i>Ukraine</i>",
        '1. <a href="https://news.example/5">Story 5</a>',
        '2. <a href="https://news.example/7">Story 7</a>',
        "<i>Brussels</i>",
        '3. <a href="https://news.example/3">Story 3</a>',
        "<i>NATO</i>",
        '4. <a href="https://news.example/2">Story 2</a>',
    ]


def test_one_query_needs_no_heading_and_a_burst_digest_keeps_its_header() -> None:
    message, carried = first_digest_message(
        [line(1, "Ukraine", held=False), line(2, "Ukraine", held=False)]
    )
    assert len(carried) == 2
    assert message.text.splitlines()[0] == (
        "<b>…and 2 more new stories matching your subscriptions:</b>"
    )
    assert "<i>" not in message.text


def test_a_long_digest_splits_within_the_limit_and_repeats_the_heading() -> None:
    items = [
        (f"{'Long title ' * 30}{n}", f"https://news.example/{n}", "Ukraine" if n < 30 else "NATO")
        for n in range(60)
    ]
    pages = digest_pages(items, "Digest")
    assert sum(count for _, count in pages) == 60
    assert len(pages) > 2
    assert all(visible_length(text) <= TELEGRAM_TEXT_LIMIT for text, _ in pages)
    # The header opens the first message; every message then opens with its query.
    assert pages[0][0].splitlines()[1] == "<i>Ukraine</i>"
    assert all(text.splitlines()[0] in ("<i>Ukraine</i>", "<i>NATO</i>") for text, _ in pages[1:])
    assert digest_pages(items, "Digest", first_only=True) == pages[:1]


def test_a_digest_goes_to_the_first_rows_forum_topic_with_only_its_lines() -> None:
    rows = [
        replace(line(1, "Ukraine"), thread_id=7),
        replace(line(2, "NATO"), thread_id=9),
        replace(line(3, "Kyiv"), thread_id=7),
    ]
    message, carried = first_digest_message(rows)
    assert [row.id for row in carried] == [1, 3]
    assert message.thread_id == 7
    assert "Story 2" not in message.text
    other, carried = first_digest_message(rows[1:])
    assert ([row.id for row in carried], other.thread_id) == ([2], 9)


def test_a_channels_digest_speaks_to_its_readers_not_of_their_subscriptions() -> None:
    # A channel's readers did not subscribe: its admin did, for them.
    held = [replace(line(n, "Ukraine"), chat_type=ChatType.CHANNEL) for n in (1, 2)]
    message, _ = first_digest_message(held)
    assert message.text.splitlines()[0] == "<b>Digest: 2 new stories:</b>"
    burst = [replace(row, next_attempt_at=0.0) for row in held]
    message, _ = first_digest_message(burst)
    assert message.text.splitlines()[0] == "<b>…and 2 more new stories:</b>"
    ukrainian = [replace(row, chat_language="uk") for row in held]
    message, _ = first_digest_message(ukrainian)
    assert message.text.splitlines()[0] == "<b>Дайджест: 2 свіжі новини:</b>"
    # A group's members did subscribe, through its admins: unchanged for them.
    group = [replace(row, chat_type=ChatType.SUPERGROUP) for row in held]
    message, _ = first_digest_message(group)
    assert "matching your subscriptions" in message.text.splitlines()[0]
