"""Time zones and clock times as people type them."""

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.zones import (
    parse_clock,
    parse_times,
    parse_window,
    resolve_zone,
    suggest_zones,
    zone_of,
)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Kyiv", "Europe/Kyiv"),
        ("kyiv", "Europe/Kyiv"),
        ("KYIV", "Europe/Kyiv"),
        ("Europe/Kyiv", "Europe/Kyiv"),
        ("europe/kyiv", "Europe/Kyiv"),
        ("Kiev", "Europe/Kyiv"),  # the old spelling, still typed
        ("Europe/Kiev", "Europe/Kyiv"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("UTC", "UTC"),
        ("UTC+2", "UTC+02:00"),
        ("utc+2", "UTC+02:00"),
        ("+02:00", "UTC+02:00"),
        ("GMT-5", "UTC-05:00"),
        ("UTC+5:30", "UTC+05:30"),
        ("UTC+0", "UTC"),
    ],
)
def test_a_zone_is_named_as_people_type_it(typed: str, zone: str) -> None:
    assert resolve_zone(typed) == zone


@pytest.mark.parametrize("typed", ["", "Atlantis", "UTC+15", "+02:75", "Kyev", "Europe"])
def test_an_unknown_zone_resolves_to_nothing(typed: str) -> None:
    assert resolve_zone(typed) is None


def test_an_unknown_name_gets_close_suggestions() -> None:
    assert "Europe/Kyiv" in suggest_zones("Kyev")
    assert "Europe/London" in suggest_zones("Londn")
    assert len(suggest_zones("Kyev")) <= 3
    assert suggest_zones("zzzzzzzz") == []


def test_a_stored_zone_is_a_tzinfo() -> None:
    assert zone_of("Europe/Kyiv") == ZoneInfo("Europe/Kyiv")
    assert zone_of("UTC+02:00") == timezone(timedelta(hours=2))
    assert zone_of("UTC-05:30") == timezone(-timedelta(hours=5, minutes=30))
    assert zone_of("UTC") == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("07:00", 420), ("7:05", 425), ("23.59", 1439), ("00:00", 0), ("24:00", None), ("7", None)],
)
def test_clock_times(typed: str, minutes: int | None) -> None:
    assert parse_clock(typed) == minutes


def test_windows_and_digest_times() -> None:
    assert parse_window("23:00-07:00") == (1380, 420)
    assert parse_window("23:00 – 07:00") == (1380, 420)
    assert parse_window("09:00-17:00") == (540, 1020)
    assert parse_window("07:00-07:00") is None
    assert parse_window("tonight") is None
    assert parse_times("18:00,08:00") == (480, 1080)
    assert parse_times("08:00, 18:00 08:00") == (480, 1080)
    assert parse_times("") is None
    assert parse_times("8am") is None
    assert parse_times(",".join(f"{h:02d}:00" for h in range(7))) is None
