"""The outgoing message: plain data from rendering, turned into Telegram's markup at the edge."""

import dataclasses
from datetime import UTC, datetime

import pytest
from telegram import InlineKeyboardMarkup

from bot.delivery.markup import inline_markup
from bot.render.alerts import Alert, alert_message, digest_messages, format_alert, format_digest
from bot.render.callbacks import CallbackDataTooLong
from bot.render.message import Button, OutgoingMessage
from bot.render.outbox import render, render_all
from bot.storage import ChatStatus, ChatType, OutboxItem

ALERT = Alert(
    "Talks resume", "https://example.com/a", "BBC", datetime(2026, 1, 2, tzinfo=UTC), None, ("x",)
)


def outbox_row(kind: str, **changes: object) -> OutboxItem:
    row = OutboxItem(
        1, kind, 7, ChatStatus.ACTIVE, (), 0, "pending", "T", None, None, None, "X", None
    )
    return dataclasses.replace(row, **changes)  # type: ignore[arg-type]


def test_a_message_is_frozen_plain_data_with_no_keyboard_and_no_topic_by_default() -> None:
    message = OutgoingMessage("<b>hi</b>")
    assert (message.keyboard, message.thread_id) == ((), None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.text = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "fields",
    [{}, {"callback_data": "a:1", "url": "https://example.com"}],
    ids=["neither", "both"],
)
def test_a_button_has_callback_data_or_a_url(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="either callback data or a URL"):
        Button("label", **fields)


def test_a_button_refuses_callback_data_over_64_bytes() -> None:
    assert Button("ok", callback_data="x" * 64).callback_data == "x" * 64
    with pytest.raises(CallbackDataTooLong):
        Button("too long", callback_data="x" * 65)


def test_the_keyboard_becomes_telegrams_inline_markup_row_by_row() -> None:
    keyboard = (
        (Button("Yes", callback_data="t:yes"), Button("No", callback_data="t:no")),
        (Button("Read", url="https://example.com/a"),),
    )
    markup = inline_markup(keyboard)
    assert isinstance(markup, InlineKeyboardMarkup)
    rows = markup.inline_keyboard
    assert [[button.text for button in row] for row in rows] == [["Yes", "No"], ["Read"]]
    assert [rows[0][0].callback_data, rows[0][1].callback_data] == ["t:yes", "t:no"]
    assert (rows[1][0].url, rows[1][0].callback_data) == ("https://example.com/a", None)


def test_no_buttons_means_no_markup() -> None:
    assert inline_markup(()) is None
    assert inline_markup(((),)) is None


def test_alerts_and_digests_render_as_messages_of_the_same_text() -> None:
    assert alert_message(ALERT) == OutgoingMessage(format_alert(ALERT))
    items = [(f"Story {n}", None) for n in range(400)]
    texts = format_digest(items, header="Header")
    assert len(texts) > 1
    assert digest_messages(items, header="Header") == [OutgoingMessage(text) for text in texts]


def test_outbox_rows_render_as_messages() -> None:
    assert render(outbox_row("broadcast", text="<b>News</b>")) == OutgoingMessage("<b>News</b>")
    [alert] = render_all([outbox_row("alert")])
    assert isinstance(alert, OutgoingMessage) and "T" in alert.text
    [digest] = render_all([outbox_row("digest")] * 2)
    assert digest.keyboard == () and digest.thread_id is None


def test_a_channel_alert_has_no_buttons_and_no_matched_line_unless_turned_on() -> None:
    row = outbox_row("alert", matched=("NATO",), title="NATO meets", story_id=5)
    private = render(row)
    assert private.keyboard and private.text.endswith("Matched: NATO")
    channel = render(dataclasses.replace(row, chat_type=ChatType.CHANNEL, show_matched=False))
    assert channel.keyboard == ()
    assert "Matched" not in channel.text and "<b>NATO</b>" in channel.text
    shown = render(dataclasses.replace(row, chat_type=ChatType.CHANNEL, show_matched=True))
    assert shown.keyboard == () and shown.text.endswith("Matched: NATO")


def test_one_story_to_many_chats_renders_each_chats_language_and_topic() -> None:
    # Rendered alerts are kept per story (fan-out sends one story to many chats): what
    # differs between chats must still differ.
    ann = outbox_row("alert", story_id=5, matched=("Ukraine",), title="Ukraine talks")
    [first] = render_all([ann])
    [again] = render_all([dataclasses.replace(ann, id=2, chat_id=8)])
    [ukrainian] = render_all([dataclasses.replace(ann, id=3, chat_id=9, chat_language="uk")])
    [group] = render_all(
        [dataclasses.replace(ann, id=4, chat_id=-5, chat_type=ChatType.GROUP, thread_id=3)]
    )
    assert again == first and first.keyboard and first.thread_id is None
    assert "<b>Ukraine</b> talks" in ukrainian.text and ukrainian.text != first.text
    assert ukrainian.keyboard != first.keyboard, "labelled in Ukrainian"
    assert (group.text, group.keyboard, group.thread_id) == (first.text, first.keyboard, 3)
    assert inline_markup(again.keyboard) is inline_markup(first.keyboard)
