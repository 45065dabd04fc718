"""A chat's time zone and clock times as people type them, read into what a schedule stores.

Pure apart from reading the IANA database (the tzdata package, so any OS has it): "Kyiv",
"kyiv", "Europe/Kyiv", the old "Kiev", "UTC+2", "+02:00" all name a zone; an unknown name
gets a few close ones to suggest.
"""

import difflib
import re
from datetime import UTC, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

UTC_NAME = "UTC"
MINUTES_PER_DAY = 24 * 60
# Offsets the world uses run from UTC-12:00 to UTC+14:00.
MAX_OFFSET_MINUTES = 14 * 60
SUGGESTIONS = 3
# How alike a name must be to a zone's to be suggested (difflib's ratio, 0..1).
SUGGESTION_CUTOFF = 0.6
# Digest times a chat may ask for: enough for "every few hours", few enough to stay a digest.
MAX_DIGEST_TIMES = 6

# Old names people still type, folded, to the zone's current name (tzdata keeps both).
RENAMED = {"europe/kiev": "europe/kyiv", "europe/uzhgorod": "europe/kyiv"}

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone by its folded full name."""
    return {name.casefold(): name for name in available_timezones()}


@cache
def _cities() -> dict[str, list[str]]:
    """Zones by the folded last part of their name ("kyiv" -> ["Europe/Kyiv"])."""
    cities: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        if "/" in name:
            city = name.rsplit("/", 1)[1].replace("_", " ").casefold()
            cities.setdefault(city, []).append(name)
    return cities


def resolve_zone(text: str) -> str | None:
    """Return the zone text names (an IANA name, or "UTC+02:00" for an offset), or None."""
    wanted = " ".join(text.split())
    if not wanted:
        return None
    offset = _OFFSET.match(wanted.casefold())
    if offset:
        sign, hours, minutes = offset.groups()
        total = int(hours) * 60 + int(minutes or 0)
        if total > MAX_OFFSET_MINUTES or int(minutes or 0) >= 60:
            return None
        return offset_name(-total if sign == "-" else total)
    folded = wanted.casefold()
    if folded in ("utc", "gmt", "z"):
        return UTC_NAME
    exact = _zone_names().get(folded.replace(" ", "_"))
    if exact:
        return _current(exact)
    by_city = _cities().get(folded.replace("_", " "))
    if by_city and len(by_city) == 1:
        return _current(by_city[0])
    return None


def _current(name: str) -> str:
    folded = name.casefold()
    return _zone_names().get(RENAMED.get(folded, folded), name)


def suggest_zones(text: str) -> list[str]:
    """Return up to SUGGESTIONS zone names close to text, best first."""
    folded = " ".join(text.split()).casefold()
    cities = _cities()
    close = difflib.get_close_matches(folded, cities, SUGGESTIONS, SUGGESTION_CUTOFF)
    found = [zone for city in close for zone in cities[city]]
    if len(found) < SUGGESTIONS:
        names = _zone_names()
        more = difflib.get_close_matches(folded, names, SUGGESTIONS, SUGGESTION_CUTOFF)
        found += [names[name] for name in more if names[name] not in found]
    return found[:SUGGESTIONS]


def offset_name(minutes: int) -> str:
    """Return "UTC+02:00" for 120 minutes east of UTC ("UTC" for none)."""
    if minutes == 0:
        return UTC_NAME
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_of(name: str) -> tzinfo:
    """Return the tzinfo a stored zone name stands for (UTC for one no longer known)."""
    offset = _OFFSET.match(name.casefold())
    if offset and name.startswith(UTC_NAME):
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):  # a name tzdata dropped since it was stored
        return UTC


def parse_clock(text: str) -> int | None:
    """Return minutes after midnight for "07:00" or "7.30", or None."""
    found = _CLOCK.match(text.strip())
    if not found:
        return None
    hours, minutes = int(found.group(1)), int(found.group(2))
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def parse_window(text: str) -> tuple[int, int] | None:
    """Return (start, end) minutes for "23:00-07:00" (may cross midnight), or None."""
    parts = text.replace("–", "-").replace("—", "-").split("-")
    if len(parts) != 2:
        return None
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start is None or end is None or start == end:
        return None
    return start, end


def parse_times(text: str) -> tuple[int, ...] | None:
    """Return the distinct times of "08:00,18:00" ascending, or None (none, junk, too many)."""
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    times = [parse_clock(part) for part in parts]
    if not times or any(time is None for time in times):
        return None
    distinct = tuple(sorted({time for time in times if time is not None}))
    return distinct if len(distinct) <= MAX_DIGEST_TIMES else None
