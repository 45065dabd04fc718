"""The callback data registry: every button kind round-trips, and nothing else decodes."""

import re
from typing import Any

import pytest

from bot.render.callbacks import (
    BROADCAST,
    CALLBACK_DATA_LIMIT,
    CALLBACKS,
    CHANNEL,
    LANGUAGE,
    REMOVE_ALL,
    SETTINGS,
    SHOW_LISTED,
    TRY_SUBSCRIBE,
    TUNE,
    UNMUTE_LISTED,
    UNSUBSCRIBE,
    BroadcastAction,
    CallbackDataTooLong,
    CallbackKind,
    CallbackRegistry,
    ChannelAction,
    SettingsAction,
    Tune,
    TuneAction,
    check_callback_data,
)


def text_kind(registry: CallbackRegistry, prefix: str = "t") -> CallbackKind[str]:
    return registry.register(prefix, lambda text: text, lambda raw: raw or None)


@pytest.mark.parametrize(
    ("kind", "payload", "data"),
    [
        (UNSUBSCRIBE, 0, "unsub:0"),
        (UNSUBSCRIBE, 42, "unsub:42"),
        (REMOVE_ALL, True, "unsuball:yes"),
        (REMOVE_ALL, False, "unsuball:no"),
        (LANGUAGE, "en", "lang:en"),
        (LANGUAGE, "uk", "lang:uk"),
        (LANGUAGE, "ru", "lang:ru"),
        (BROADCAST, (BroadcastAction.CONFIRM, 7), "bc:ok:7"),
        (BROADCAST, (BroadcastAction.CANCEL, 7), "bc:no:7"),
        (TRY_SUBSCRIBE, '"Joe Biden" -football', 'trysub:"Joe Biden" -football'),
        (TRY_SUBSCRIBE, "Україна", "trysub:Україна"),
        (SETTINGS, SettingsAction.QUIET_OFF, "sched:quietoff"),
        (SETTINGS, SettingsAction.DIGEST_OFF, "sched:digestoff"),
        (TUNE, Tune(TuneAction.MUTE_MENU, 12), "tune:m:12:0:0"),
        (TUNE, Tune(TuneAction.MUTE, 12, 3, 2), "tune:mu:12:3:2"),
        (TUNE, Tune(TuneAction.RESTORE, 12, 1, 77), "tune:rs:12:1:77"),
        (UNMUTE_LISTED, 5, "unmute:5"),
        (SHOW_LISTED, 9, "showsrc:9"),
        (CHANNEL, (ChannelAction.SHOW, -1001234567890), "chan:v:1001234567890"),
        (CHANNEL, (ChannelAction.HIDE_MATCHED, -1001234), "chan:m0:1001234"),
    ],
)
def test_every_kind_round_trips_in_the_wire_format_buttons_already_carry(
    kind: CallbackKind[Any], payload: object, data: str
) -> None:
    assert kind.encode(payload) == data
    assert kind.decode(data) == payload
    assert CALLBACKS.kind_of(data) is kind


def test_the_registry_knows_every_kind_the_handlers_use() -> None:
    assert CALLBACKS.prefixes() == [
        "unsub",
        "unsuball",
        "lang",
        "bc",
        "trysub",
        "sched",
        "tune",
        "unmute",
        "showsrc",
        "chan",
    ]


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (UNSUBSCRIBE, "unsub:"),
        (UNSUBSCRIBE, "unsub:not-a-number"),
        (UNSUBSCRIBE, "unsub:-1"),
        (UNSUBSCRIBE, "unsub:+1"),
        (UNSUBSCRIBE, "unsub: 1"),
        (UNSUBSCRIBE, "unsub:²"),  # a digit to str.isdigit, not to int()
        (UNSUBSCRIBE, "unsub:١٢"),  # Arabic-Indic digits: int() reads them, we do not
        (UNSUBSCRIBE, "unsub:" + "9" * 19),  # beyond any SQLite id
        (UNSUBSCRIBE, "unsuball:yes"),  # another kind whose prefix starts the same
        (UNSUBSCRIBE, "unsub"),
        (UNSUBSCRIBE, None),
        (REMOVE_ALL, "unsuball:"),
        (REMOVE_ALL, "unsuball:YES"),
        (REMOVE_ALL, "unsuball:yes:1"),
        (REMOVE_ALL, "unsub:1"),
        (LANGUAGE, "lang:"),
        (LANGUAGE, "lang:de"),
        (LANGUAGE, "lang:UK"),
        (LANGUAGE, "lang:uk-UA"),
        (LANGUAGE, "lang:uk:1"),
        (SETTINGS, "sched:"),
        (SETTINGS, "sched:quiet"),
        (SETTINGS, "sched:QUIETOFF"),
        (BROADCAST, "bc:ok"),
        (BROADCAST, "bc:ok:"),
        (BROADCAST, "bc:go:7"),
        (BROADCAST, "bc::7"),
        (BROADCAST, "bc:ok:7:8"),
        (BROADCAST, "bc:ok:x"),
        (BROADCAST, "bcx:ok:7"),
        (TUNE, "tune:m:12"),  # every tuning button carries all three ids
        (TUNE, "tune:m:12:0:0:0"),
        (TUNE, "tune:zz:12:0:0"),  # no such action
        (TUNE, "tune:mu:12:-1:0"),
        (TUNE, "tune:mu:x:1:0"),
        (TUNE, "tune::12:0:0"),
        (UNMUTE_LISTED, "unmute:ukraine"),
        (SHOW_LISTED, "showsrc:"),
        (CHANNEL, "chan:v"),
        (CHANNEL, "chan:v:0"),  # no chat has id 0
        (CHANNEL, "chan:v:-1001234"),  # written without its sign
        (CHANNEL, "chan:zz:1001234"),
        (CHANNEL, "chan:m1:12:3"),
    ],
)
def test_garbled_or_foreign_data_decodes_to_none_and_never_raises(
    kind: CallbackKind[Any], data: str | None
) -> None:
    assert kind.decode(data) is None


@pytest.mark.parametrize("data", ["forged", "", ":1", "nope:1", "UNSUB:1", None])
def test_an_unknown_prefix_has_no_kind(data: str | None) -> None:
    assert CALLBACKS.kind_of(data) is None


def test_the_longest_id_a_button_can_carry_fits_telegrams_limit() -> None:
    longest = int("9" * 18)
    assert len(BROADCAST.encode((BroadcastAction.CONFIRM, longest))) <= CALLBACK_DATA_LIMIT
    assert BROADCAST.decode(BROADCAST.encode((BroadcastAction.CANCEL, longest))) == (
        BroadcastAction.CANCEL,
        longest,
    )


def test_the_longest_tuning_button_fits_telegrams_limit() -> None:
    longest = int("9" * 18)
    tune = Tune(TuneAction.RESTORE, longest, longest, longest)
    assert len(TUNE.encode(tune).encode()) <= CALLBACK_DATA_LIMIT
    assert TUNE.decode(TUNE.encode(tune)) == tune


def test_only_a_supported_locale_makes_a_language_button() -> None:
    with pytest.raises(ValueError, match="locale"):
        LANGUAGE.encode("de")


def test_negative_ids_are_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="negative"):
        UNSUBSCRIBE.encode(-1)


@pytest.mark.parametrize(
    ("char", "size"), [("a", 1), ("é", 2), ("€", 3), ("😀", 4)], ids=["1", "2", "3", "4"]
)
def test_64_bytes_of_utf8_encode_and_one_byte_more_is_refused(char: str, size: int) -> None:
    kind = text_kind(CallbackRegistry())
    room = CALLBACK_DATA_LIMIT - len("t:")
    fits = char * (room // size) + "a" * (room % size)  # exactly 64 bytes in all
    assert len(kind.encode(fits).encode()) == CALLBACK_DATA_LIMIT
    assert kind.decode(kind.encode(fits)) == fits
    over = "a" * (room - size + 1) + char  # 65 bytes, the last character multi-byte
    assert len(("t:" + over).encode()) == CALLBACK_DATA_LIMIT + 1
    with pytest.raises(CallbackDataTooLong, match="65 bytes"):
        kind.encode(over)


def test_the_limit_counts_bytes_not_characters() -> None:
    assert check_callback_data("€" * 21) == "€" * 21  # 21 characters, 63 bytes
    with pytest.raises(CallbackDataTooLong):
        check_callback_data("€" * 22)  # 22 characters, 66 bytes


def test_a_prefix_is_registered_only_once() -> None:
    registry = CallbackRegistry()
    text_kind(registry, "dup")
    with pytest.raises(ValueError, match="already registered"):
        text_kind(registry, "dup")
    assert registry.prefixes() == ["dup"]


@pytest.mark.parametrize("prefix", ["", "a:b", ":"])
def test_a_prefix_must_be_non_empty_and_without_the_separator(prefix: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        text_kind(CallbackRegistry(), prefix)


def test_a_payload_codec_raising_value_error_decodes_to_none() -> None:
    kind = CallbackRegistry().register("n", str, int)
    assert kind.decode("n:12") == 12
    assert kind.decode("n:twelve") is None


def test_the_handler_pattern_matches_only_its_own_kind() -> None:
    assert re.match(UNSUBSCRIBE.pattern, "unsub:1")
    assert not re.match(UNSUBSCRIBE.pattern, "unsuball:yes")
    assert re.match(REMOVE_ALL.pattern, "unsuball:no")
    assert re.match(BROADCAST.pattern, "bc:ok:1")
    assert not re.match(BROADCAST.pattern, "bcx:ok:1")


def test_a_tried_query_too_long_for_a_button_is_refused_and_blank_data_reads_as_stale() -> None:
    with pytest.raises(CallbackDataTooLong):
        TRY_SUBSCRIBE.encode("Україна " * 5)
    assert TRY_SUBSCRIBE.decode("trysub: ") is None
    assert TRY_SUBSCRIBE.decode("trysub:") is None
