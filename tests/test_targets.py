"""The "@name" a command names a channel by (bot/targets.py)."""

import pytest

from bot.targets import Target, split_target


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("@NewsDesk Ukraine, NATO", Target("NewsDesk", "Ukraine, NATO")),
        ("  @news_desk_1  ", Target("news_desk_1", "")),
        ("@NewsDesk", Target("NewsDesk", "")),
        ("@NewsDesk, Ukraine", Target("NewsDesk", "Ukraine")),
        ("@NewsDesk: 23:00-07:00", Target("NewsDesk", "23:00-07:00")),
        ("https://t.me/NewsDesk NATO", Target("NewsDesk", "NATO")),
        ("t.me/NewsDesk", Target("NewsDesk", "")),
        ("-1001234567890 NATO", Target("", "NATO", -1001234567890)),
    ],
)
def test_a_leading_channel_name_is_split_off(argument: str, expected: Target) -> None:
    assert split_target(argument) == expected


@pytest.mark.parametrize(
    "argument",
    [
        "",
        "Ukraine, NATO",
        "NATO @NewsDesk",  # only a leading name is a target
        "@abc",  # too short to be a username
        "@1news",  # must start with a letter
        "@News-Desk",  # not a username character
        "@" + "a" * 33,  # too long
        "email@example.com",
        "-5 NATO",  # a group's id, not a channel's
        "-1001234x",
    ],
)
def test_anything_else_names_no_channel(argument: str) -> None:
    assert split_target(argument) is None


def test_the_name_is_shown_as_given() -> None:
    assert Target("NewsDesk", "").name == "@NewsDesk"
    assert Target("", "", -1001234).name == "-1001234"
